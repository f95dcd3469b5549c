/**
 * A small, safe subset of Markdown for news posts (format 19.5: rendered without HTML and
 * without remote images). It parses into plain data (blocks of inline runs) that the page
 * renders as Preact elements, so a post's text is only ever text: `<script>` stays the
 * characters `<script>`, and an image `![x](https://...)` stays its alt text, never a request to
 * another site. Links are shown as their text followed by the address, not as links, so a post
 * cannot dress one site up as another.
 *
 * What it knows: headings (`#` to `###`), paragraphs (lines joined), bullet lists (`-`, `*`),
 * numbered lists (`1.`), `**bold**`, `*italic*` / `_italic_`, `` `code` ``. Everything else is
 * text as written.
 */

export type Inline = { type: "text" | "strong" | "em" | "code"; text: string };

export type Block =
  | { type: "heading"; level: 3 | 4; content: Inline[] }
  | { type: "paragraph"; content: Inline[] }
  | { type: "list"; ordered: boolean; items: Inline[][] };

const INLINE = /(\*\*[^*\n]+\*\*|`[^`\n]+`|\*[^*\n]+\*|_[^_\n]+_)/;

/** Images become their alt text and links their text with the address, before styling. */
function flatten(text: string): string {
  return text.replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, "$1 ($2)");
}

export function inline(source: string): Inline[] {
  const out: Inline[] = [];
  for (const part of flatten(source).split(INLINE)) {
    if (part === "") continue;
    if (part.length > 4 && part.startsWith("**") && part.endsWith("**")) out.push({ type: "strong", text: part.slice(2, -2) });
    else if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) out.push({ type: "code", text: part.slice(1, -1) });
    else if (part.length > 2 && ((part.startsWith("*") && part.endsWith("*")) || (part.startsWith("_") && part.endsWith("_")))) out.push({ type: "em", text: part.slice(1, -1) });
    else out.push({ type: "text", text: part });
  }
  return out;
}

const BULLET = /^\s*[-*]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,9}[.)]\s+(.*)$/;
const HEADING = /^(#{1,3})\s+(.*?)\s*#*\s*$/;

export function parseMarkdown(source: string): Block[] {
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  let items: { ordered: boolean; lines: string[] } | null = null;
  const flush = (): void => {
    if (paragraph.length > 0) blocks.push({ type: "paragraph", content: inline(paragraph.join(" ")) });
    paragraph = [];
    if (items !== null) blocks.push({ type: "list", ordered: items.ordered, items: items.lines.map(inline) });
    items = null;
  };
  for (const line of source.replace(/\r\n?/g, "\n").split("\n")) {
    const heading = HEADING.exec(line);
    const bullet = BULLET.exec(line);
    const numbered = bullet === null ? NUMBERED.exec(line) : null;
    if (line.trim() === "") {
      flush();
    } else if (heading !== null) {
      flush();
      // The post's title is the page's h2 level; its headings sit below it.
      blocks.push({ type: "heading", level: (Math.min(heading[1]?.length ?? 1, 2) + 2) as 3 | 4, content: inline(heading[2] ?? "") });
    } else if (bullet !== null || numbered !== null) {
      const ordered = numbered !== null;
      if (paragraph.length > 0 || (items !== null && (items as { ordered: boolean }).ordered !== ordered)) flush();
      items ??= { ordered, lines: [] };
      items.lines.push(((bullet ?? numbered) as RegExpExecArray)[1] ?? "");
    } else if (items !== null) {
      // A line that goes on after a list item belongs to it.
      const last = items.lines.length - 1;
      items.lines[last] = `${items.lines[last] ?? ""} ${line.trim()}`;
    } else {
      paragraph.push(line.trim());
    }
  }
  flush();
  return blocks;
}
