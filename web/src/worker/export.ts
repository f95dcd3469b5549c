/**
 * "Alles downloaden": the export of client_sdk/export.py in the browser (docs/client.md 17),
 * as one zip streamed out (archive.ts): every version of every document the dossier's owner
 * confirms as a standard age file NAME.vN.EXT.age for this account's own age identity, that
 * identity in kluis-identity.age encrypted with a passphrase the person chooses (age's scrypt
 * stanza, so `age -d` asks for it), manifest.json, README.txt and open.sh, the same names and
 * texts as the command line writes.
 *
 * One difference (docs/client.md 19): the command line puts a new age header in front of the
 * stored payload; the worker never hands out a file key, so it encrypts each version's verified
 * plaintext afresh (a new age file key) while the download's checks run (section 7). The zip
 * keeps an entry only once its document verified, and the whole zip only if all did.
 */
import { ageHeader, identityFileText, passphraseAgeFile, recipientOf } from "../vault/agefile.js";
import { randomBytes } from "../vault/crypto.js";
import { PayloadEncryptor } from "../vault/payload.js";
import { writeZip, type ZipStream } from "./archive.js";
import { ClientError } from "./errors.js";
import type { Kluis, ProgressFn } from "./kluis.js";
import type { DocumentSummary, SaveTarget } from "./protocol.js";

export const IDENTITY_FILE = "kluis-identity.age";
export const MANIFEST_FILE = "manifest.json";
export const README_FILE = "README.txt";
export const OPEN_SCRIPT = "open.sh";
export const OPENED_DIR = "opened";
const MAX_NAME_BYTES = 120;
const MAX_SUFFIX_BYTES = 16;

interface Texts {
  title: string;
  identity: string;
  manifest: string;
  script: string;
  opened: string;
  recipient: string;
}

const readmeText = (f: Texts): string => `Kluis export of the dossier "${f.title}"
======================================

Every version of every document of this dossier is in this folder as a standard age file
(.age): NAME.vN.EXT.age is version N of the document NAME.EXT. A name that is too long for
other computers, or holds characters they do not allow, is shortened or changed here; ${f.manifest}
gives each file's full name, its version (and whether it is the latest), its author and the
author's fingerprint.

The files open without Kluis, with the free \`age\` tool (https://age-encryption.org, or
\`apt install age\`, or \`brew install age\`). Your key is in ${f.identity}, protected with the
passphrase you chose during the export.

To open everything at once (Linux, macOS), in this folder:

    sh ${f.script}

It asks for the passphrase once, keeps the unlocked key in memory only (never on disk), and
writes every document into the folder "${f.opened}" here.

To open one document:

    age -d -i ${f.identity} -o "schaderapport.v2.pdf" "schaderapport.v2.pdf.age"

(age then asks for the passphrase every time.)

On Windows, open one document at a time as above, or open them all with one passphrase
prompt in PowerShell, in this folder (age 1.1 or later):

    $key = age -d ${f.identity}
    mkdir ${f.opened}
    Get-ChildItem *.age | Where-Object Name -ne "${f.identity}" | ForEach-Object {
        $key | age -d -i - -o ("${f.opened}\\" + $_.BaseName) $_.FullName
    }
    Remove-Variable key

Keep this folder and the passphrase safe: anyone with both can read the documents.
Your age recipient (public key) is ${f.recipient}
`;

const openScriptText = (f: Pick<Texts, "identity" | "opened">): string => `#!/bin/sh
# Opens every document of this Kluis export into the folder "${f.opened}", asking for the
# passphrase of ${f.identity} once. The unlocked key stays in this script's memory, never on disk.
# Needs the age tool (https://age-encryption.org). See README.txt.
cd "$(dirname "$0")" || exit 1
if ! command -v age >/dev/null 2>&1; then
    echo "open.sh: the age tool is not installed (https://age-encryption.org)" >&2
    exit 1
fi
if [ -e ${f.opened} ] && [ -n "$(ls -A ${f.opened})" ]; then
    echo "open.sh: the folder ${f.opened} is not empty; move it away first" >&2
    exit 1
fi
umask 077
if ! key=$(age -d ${f.identity}); then
    echo "open.sh: could not unlock ${f.identity} (a wrong passphrase?)" >&2
    exit 1
fi
mkdir -p ${f.opened} || exit 1
failed=0
for f in *.age; do
    [ "$f" = ${f.identity} ] && continue
    out="${f.opened}/\${f%.age}"
    if printf '%s\\n' "$key" | age -d -i /dev/stdin -o "$out" "./$f"; then
        [ -e "$out" ] || : > "$out"  # age writes nothing for an empty document
        echo "$out"
    else
        echo "open.sh: could not open $f" >&2
        failed=1
    fi
done
key=
exit $failed
`;

// export.py `_UNSAFE`, `_RESERVED`.
const UNSAFE = /[\u0000-\u001f\u007f<>:"/\\|?*]/g;
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const utf8 = (text: string): number => new TextEncoder().encode(text).length;

/** The longest beginning of `text` of at most `limit` UTF-8 bytes (whole characters). */
function cut(text: string, limit: number): string {
  let out = "";
  for (const ch of text) {
    if (utf8(out + ch) > limit) break;
    out += ch;
  }
  return out;
}

/** export.py `export_name`: NAME.vN.EXT.age, safe for other systems, short, not taken (case-insensitively). */
export function exportName(name: string, version: number, documentId: string, taken: Set<string>): string {
  const clean = name.replace(UNSAFE, "_").replace(/^[ .]+|[ .]+$/g, "").replace(/^-+/, "") || documentId.slice(0, 12);
  const dot = clean.lastIndexOf(".");
  let stem = dot > 0 ? clean.slice(0, dot) : clean;
  let suffix = dot > 0 ? clean.slice(dot + 1) : "";
  if (dot <= 0 || utf8(suffix) > MAX_SUFFIX_BYTES || suffix.includes(" ")) {
    stem = clean;
    suffix = "";
  }
  if (RESERVED.test(stem)) stem = `_${stem}`;
  const ending = `.v${version}${suffix ? `.${suffix}` : ""}.age`;
  const room = MAX_NAME_BYTES - utf8(ending);
  let candidate = stem + ending;
  const fold = (t: string): string => t.toLocaleLowerCase("en");
  if (utf8(stem) > room || taken.has(fold(candidate))) {
    for (const width of [8, 16, 32]) {
      const tag = `~${documentId.slice(0, width)}`;
      candidate = cut(stem, room - utf8(tag)).replace(/[ .]+$/, "") + tag + ending;
      if (!taken.has(fold(candidate))) break;
    }
  }
  taken.add(fold(candidate));
  return candidate;
}

/** A SaveTarget that encrypts what Kluis.open streams into it as an age file for `recipient`. */
function ageEntry(zip: ZipStream, name: string, recipient: string): SaveTarget {
  const inner = zip.target(name);
  return {
    kind: "file",
    name,
    createWritable: async () => {
      const key = randomBytes(16);
      const out = await inner.createWritable();
      const encryptor = await PayloadEncryptor.create(key);
      await out.write((await ageHeader(key, [recipient])) as Uint8Array<ArrayBuffer>);
      key.fill(0);
      return {
        write: async (data) => {
          for (const piece of encryptor.push(data)) await out.write(piece as Uint8Array<ArrayBuffer>);
        },
        close: async () => {
          for (const piece of encryptor.finish().chunks) await out.write(piece as Uint8Array<ArrayBuffer>);
          await out.close();
        },
        abort: async () => out.abort(),
      };
    },
  };
}

/**
 * export.py `export`: the whole export as one zip (into `target`, or a Blob). Answers how many
 * versions and documents went in, and the documents left out because the owner does not confirm them.
 */
export async function exportDossier(
  kluis: Kluis,
  dossierId: string,
  passphrase: string,
  progress: ProgressFn,
  target?: SaveTarget,
): Promise<{ files: number; documents: number; leftOut: string[]; content: Blob | null }> {
  if (passphrase.length === 0) throw new ClientError("the export needs a passphrase for its key file");
  const { me } = kluis.session();
  const listed = await kluis.documents(dossierId);
  const title = listed.dossier.title ?? "";
  const recipient = recipientOf(me.ageSecret);
  const taken = new Set([IDENTITY_FILE, MANIFEST_FILE, README_FILE, OPEN_SCRIPT, OPENED_DIR]);
  const confirmed = listed.documents.filter((d) => d.confirmed).sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.documentId.localeCompare(b.documentId));
  const manifest: Record<string, unknown>[] = [];
  const content = await writeZip(target, async (zip) => {
    for (const d of confirmed) {
      // Every version the owner confirms, up to the one listed (export.py: newer ones are unconfirmed).
      const versions = (await kluis.versions(d.documentId)).filter((v) => v.confirmed && v.version <= d.version).sort((a, b) => a.version - b.version);
      for (const v of versions) {
        const name = exportName(v.name, v.version, d.documentId, taken);
        const opened = await kluis.open(d.documentId, v.version, false, progress, ageEntry(zip, name, recipient));
        manifest.push(manifestEntry(name, opened.info, d.version));
      }
    }
    const identity = await passphraseAgeFile(new TextEncoder().encode(identityFileText(me.ageSecret, new Date())), passphrase);
    const file = (name: string, data: Uint8Array): void => {
      const entry = zip.entry(name);
      entry.write(data);
      entry.end();
    };
    file(IDENTITY_FILE, identity);
    file(MANIFEST_FILE, new TextEncoder().encode(`${JSON.stringify({ dossier: title, documents: manifest }, null, 2)}\n`));
    file(OPEN_SCRIPT, new TextEncoder().encode(openScriptText({ identity: IDENTITY_FILE, opened: OPENED_DIR })));
    file(README_FILE, new TextEncoder().encode(readmeText({ title, identity: IDENTITY_FILE, manifest: MANIFEST_FILE, script: OPEN_SCRIPT, opened: OPENED_DIR, recipient })));
  });
  const leftOut = listed.documents.filter((d) => !d.confirmed).map((d) => d.name);
  return { files: manifest.length, documents: new Set(manifest.map((e) => e["document_id"])).size, leftOut, content };
}

function manifestEntry(file: string, d: DocumentSummary, latest: number): Record<string, unknown> {
  return {
    file,
    document_id: d.documentId,
    version: d.version,
    name: d.name,
    title: d.title,
    media_type: d.mediaType,
    size: d.size,
    created: d.created,
    author: d.author,
    latest: d.version === latest,
  };
}
