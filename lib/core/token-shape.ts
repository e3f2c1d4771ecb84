import { isUtf8 } from 'node:buffer';
// RFC 7515 7.1 and 2: exactly three non-empty base64url segments, no padding, nothing else. jose's
// decoder (atob underneath) also takes padding, whitespace and non-zero trailing bits, so one token
// could otherwise be spelled many ways; JWE (5 segments) and the JSON serialization never match.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Whether a base64url segment ending just before `end` is the canonical spelling of its bytes. */
function canonicalTail(token: string, start: number, end: number): boolean {
  const rest = (end - start) % 4;
  if (rest === 0) return true;
  if (rest === 1) return false; // no byte string encodes to 4n+1 characters
  // The last character carries 4 (rest 2) or 2 (rest 3) bits of padding, which must be zero.
  return (ALPHABET.indexOf(token[end - 1]!) & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Whether `token` is a compact JWS in canonical base64url: checked with no parsing and no crypto. */
export function isCanonicalCompactJws(token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  return canonicalTail(token, 0, first) && canonicalTail(token, first + 1, second) && canonicalTail(token, second + 1, token.length);
}

/** Why a JSON text is refused: a repeated member name in one object, or nesting deeper than allowed. */
export type JsonDefect = 'duplicate_member' | 'too_deep' | 'not_utf8';

/**
 * Member names in JSON already parsed successfully (so valid), as UTF-8 bytes, or -1 when it nests
 * deeper than `maxDepth`. The bytes are scanned as they are: JSON's structural characters are ASCII, and
 * no byte of a multi-byte UTF-8 sequence is. In valid JSON only a member name is followed by `:`, so no
 * name is read or compared.
 */
function memberNames(bytes: Uint8Array, length: number, maxDepth: number): number {
  let names = 0;
  let depth = 0;
  for (let i = 0; i < length; i++) {
    const c = bytes[i]!;
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return -1;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x22 /* " */) {
      // Bounded although the JSON parsed: a bad call must not loop forever.
      for (i++; i < length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c /* \ */) i++;
      // Up to `length` only: past it lie another token's bytes (the reused decode buffer).
      let j = i + 1;
      while (j < length && (bytes[j] === 0x20 || bytes[j] === 0x0a || bytes[j] === 0x0d || bytes[j] === 0x09)) j++;
      if (j < length && bytes[j] === 0x3a /* : */) names++;
    }
  }
  return names;
}

/** Own members of every object in a parsed JSON value: fewer than the text's member names means a name came twice. */
function parsedMembers(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let members = 0;
  if (Array.isArray(value)) {
    for (const item of value) members += parsedMembers(item);
    return members;
  }
  // JSON.parse makes every member (`__proto__` included) an own enumerable data property of a plain object.
  for (const name in value) members += 1 + parsedMembers((value as Record<string, unknown>)[name]);
  return members;
}

/**
 * What `JSON.parse` silently accepted in `bytes`, the UTF-8 of JSON it parsed into `parsed`: duplicate
 * member names (RFC 7515 4, RFC 7519 4 allow refusing them; a signer or proxy that keeps the first of two
 * and we the last would disagree), or nesting deeper than `maxDepth`. JSON.parse keeps one member per
 * name, so a name came twice exactly when the bytes hold more member names than `parsed` holds members:
 * counted, with no text, slice or set of names per object.
 */
function parsedJsonDefect(bytes: Uint8Array, length: number, maxDepth: number, parsed: unknown): JsonDefect | undefined {
  const names = memberNames(bytes, length, maxDepth);
  if (names < 0) return 'too_deep';
  return names === parsedMembers(parsed) ? undefined : 'duplicate_member';
}

/** The defect of a JSON text that `JSON.parse` turned into `parsed`, if any (see `parsedJsonDefect`). */
export function jsonDefect(text: string, maxDepth: number, parsed: unknown): JsonDefect | undefined {
  const bytes = Buffer.from(text, 'utf8');
  return parsedJsonDefect(bytes, bytes.length, maxDepth, parsed);
}

// One decode buffer for the process, reused by every check: a check runs to its end without an await, so
// no two share it at once. Buffer.from took a slice of Node's 8 KiB pool per segment and a new pool every
// twenty tokens or so, an ArrayBuffer whose allocation cost as much over HTTP as the decode itself (issue 23:
// 0.6 % of the server's event loop each, in a CPU profile under wrk).
// Segments longer than SCRATCH_MAX bytes (never a default-sized token) get a buffer of their own instead
// of growing it for good.
const SCRATCH_MAX = 16 * 1024;
let scratch: Buffer | undefined;
/** Where `decodeSegment()` put the bytes it returns the count of: `scratch`, or a buffer of a large segment's own. */
let decoded: Buffer = Buffer.alloc(0);

/** Decodes the base64url `segment` into `decoded` and returns its byte count (no tuple to build and destructure per segment). */
function decodeSegment(segment: string): number {
  // Canonical base64url (isCanonicalCompactJws) decodes to exactly floor(3n / 4) bytes; never more in any case.
  const size = Math.floor((segment.length * 3) / 4);
  if (size > SCRATCH_MAX) {
    decoded = Buffer.from(segment, 'base64url');
    return decoded.length;
  }
  if (scratch === undefined || scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 2048));
  decoded = scratch;
  return scratch.write(segment, 0, 'base64url');
}

/**
 * Checks the protected header and the payload of an already verified token; the first defect found, if
 * any. `parsed` is what jose parsed of those two segments (its protected header and payload). Only tokens
 * that passed `isCanonicalCompactJws` come here, so Node's decoder reads exactly the bytes jose verified.
 */
export function tokenJsonDefect(token: string, maxDepth: number, parsed: readonly [header: object, payload: object]): JsonDefect | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  for (let k = 0; k < 2; k++) {
    const length = decodeSegment(k === 0 ? token.slice(0, first) : token.slice(first + 1, second));
    const bytes = decoded;
    // RFC 7519 7.2 (jose's own decoder refuses such bytes too; this does not depend on it).
    if (!isUtf8(length === bytes.length ? bytes : bytes.subarray(0, length))) return 'not_utf8';
    const defect = parsedJsonDefect(bytes, length, maxDepth, parsed[k]);
    if (defect !== undefined) return defect;
  }
  return undefined;
}
