/**
 * A strict JSON reader for the metadata of docs/format.md sections 7 and 9 (RFC 8259).
 *
 * JSON.parse cannot be used: it keeps the last of duplicate members, reads `1.0` as the integer 1
 * and accepts unpaired surrogate escapes. This reader keeps what the format needs to reject
 * those: every member in order, and each number's lexical form.
 */

import { MalformedError } from "./errors.js";

export type JsonValue =
  | { type: "object"; members: [string, JsonValue][] }
  | { type: "array"; items: JsonValue[] }
  | { type: "string"; value: string }
  | { type: "number"; text: string; integer: boolean }
  | { type: "boolean"; value: boolean }
  | { type: "null" };

const MAX_DEPTH = 64;

export function parseJson(text: string, what: string): JsonValue {
  let at = 0;
  const fail = (message: string): never => {
    throw new MalformedError(`${what}: not valid JSON (${message} at ${at})`);
  };
  const space = (): void => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) at++;
      else break;
    }
  };
  const string = (): string => {
    at++; // opening quote
    let out = "";
    for (;;) {
      if (at >= text.length) fail("unterminated string");
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        at++;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c !== 0x5c) {
        out += text[at];
        at++;
        continue;
      }
      at++;
      const e = text[at];
      at++;
      switch (e) {
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "/": out += "/"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "t": out += "\t"; break;
        case "u": {
          const unit = hex4();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text.slice(at, at + 2) !== "\\u") fail("unpaired surrogate");
            at += 2;
            const low = hex4();
            if (low < 0xdc00 || low > 0xdfff) fail("unpaired surrogate");
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            fail("unpaired surrogate");
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          fail("bad escape");
      }
    }
  };
  const hex4 = (): number => {
    const digits = text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) fail("bad \\u escape");
    at += 4;
    return parseInt(digits, 16);
  };
  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail("nested too deeply");
    space();
    const c = text[at];
    if (c === "{") {
      at++;
      const members: [string, JsonValue][] = [];
      space();
      if (text[at] === "}") {
        at++;
        return { type: "object", members };
      }
      for (;;) {
        space();
        if (text[at] !== '"') fail("expected a member name");
        const name = string();
        space();
        if (text[at] !== ":") fail("expected ':'");
        at++;
        members.push([name, value(depth + 1)]);
        space();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "}") {
          at++;
          return { type: "object", members };
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at++;
      const items: JsonValue[] = [];
      space();
      if (text[at] === "]") {
        at++;
        return { type: "array", items };
      }
      for (;;) {
        items.push(value(depth + 1));
        space();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "]") {
          at++;
          return { type: "array", items };
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return { type: "string", value: string() };
    for (const [word, v] of [["true", { type: "boolean", value: true }], ["false", { type: "boolean", value: false }], ["null", { type: "null" }]] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (m === null) return fail("unexpected character");
    at += m[0].length;
    return { type: "number", text: m[0], integer: m[1] === undefined && m[2] === undefined };
  };
  const result = value(0);
  space();
  if (at !== text.length) fail("text after the value");
  return result;
}
