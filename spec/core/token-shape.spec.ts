import { isUtf8 } from 'node:buffer';
import { expect } from 'chai';
import { base64url } from 'jose';
import { isCanonicalCompactJws, jsonDefect, tokenJsonDefect } from '../../lib/core/token-shape.js';

describe('core/token-shape', () => {
  describe('isCanonicalCompactJws', () => {
    const segment = (bytes: number) => base64url.encode(new Uint8Array(bytes).fill(0xab));

    it('accepts three base64url segments of every length a byte string can have', () => {
      for (const n of [1, 2, 3, 4, 5, 64]) expect(isCanonicalCompactJws(`${segment(n)}.${segment(n + 1)}.${segment(n + 2)}`), String(n)).to.equal(true);
    });

    it('refuses other segment counts, empty segments, padding, whitespace and base64 characters', () => {
      const s = segment(3);
      for (const token of ['', s, `${s}.${s}`, `${s}.${s}.${s}.${s}`, `${s}.${s}.${s}.${s}.${s}`, `${s}..${s}`, `.${s}.${s}`, `${s}.${s}.`,
        `${segment(1)}==.${s}.${s}`, `${s}.${s}.${s} `, `${s}.${s}.+${s}`, `${s}.${s}./${s}`, `${s}.${s}.${s}\n`, `${s}.${s}.\u00e9${s}`]) {
        expect(isCanonicalCompactJws(token), JSON.stringify(token)).to.equal(false);
      }
    });

    it('refuses a segment of 4n+1 characters and set padding bits in the last character', () => {
      const s = segment(3);
      expect(isCanonicalCompactJws(`${s}.${s}.${s}A`)).to.equal(false);
      expect(isCanonicalCompactJws(`${s}.${s}.AB`)).to.equal(false); // 1 byte: the last 4 bits must be zero
      expect(isCanonicalCompactJws(`${s}.${s}.AAB`)).to.equal(false); // 2 bytes: the last 2 bits must be zero
      expect(isCanonicalCompactJws(`${s}.${s}.AQ`)).to.equal(true);
      expect(isCanonicalCompactJws(`${s}.${s}.AAE`)).to.equal(true);
    });
  });

  describe('jsonDefect', () => {
    it('finds nothing in ordinary JSON, including look-alike names, strings holding JSON and repeated names in separate objects', () => {
      const texts = [
        '{}', '[]', '"x"', '1', '{"a":1,"b":[1,2,{"a":2}],"c":{"a":3}}',
        '{"a":"\\"a\\":1","b":"{\\"a\\":1,\\"a\\":2}"}', '{"a":1,"A":2,"a ":3}', '[{"a":1},{"a":2}]',
        '{ "a" : 1 , "b" :\n2 }', '{"\\\\":1,"\\\\\\\\":2}', '{"k":"a","v":"k"}',
      ];
      for (const text of texts) expect(jsonDefect(text, 32, JSON.parse(text)), text).to.equal(undefined);
    });

    it('finds duplicate member names, also behind escapes and whitespace and deep inside', () => {
      const texts = ['{"a":1,"a":2}', '{"a":1,"\\u0061":2}', '{"a" :1,\n"a"\t: 2}', '{"x":[{"y":{"a":1,"b":2,"a":3}}]}', '{"\\"":1,"\\u0022":2}', '{"":1,"":2}'];
      for (const text of texts) expect(jsonDefect(text, 32, JSON.parse(text)), text).to.equal('duplicate_member');
    });

    it('refuses nesting deeper than the limit and accepts it at the limit', () => {
      const parsed = (text: string) => [text, 32, JSON.parse(text)] as const;
      expect(jsonDefect(...parsed(`${'['.repeat(32)}${']'.repeat(32)}`))).to.equal(undefined);
      expect(jsonDefect(...parsed(`${'['.repeat(33)}${']'.repeat(33)}`))).to.equal('too_deep');
      expect(jsonDefect(...parsed(`{"a":${'{"a":'.repeat(40)}1${'}'.repeat(41)}`))).to.equal('too_deep');
    });
  });

  describe('tokenJsonDefect', () => {
    const token = (header: string, payload: string | Uint8Array) => `${base64url.encode(header)}.${base64url.encode(payload)}.c2ln`;
    // What jose hands over after verifying: the two segments as JSON.parse made them.
    const parsed = (header: string, payload: string): [object, object] => [JSON.parse(header) as object, JSON.parse(payload) as object];
    const defect = (header: string, payload: string) => tokenJsonDefect(token(header, payload), 32, parsed(header, payload));

    it('checks both the header and the payload, and refuses bytes that are not UTF-8', () => {
      expect(defect('{"alg":"ES256"}', '{"sub":"a"}')).to.equal(undefined);
      expect(defect('{"alg":"ES256","alg":"none"}', '{}')).to.equal('duplicate_member');
      expect(defect('{}', '{"sub":"a","sub":"b"}')).to.equal('duplicate_member');
      expect(tokenJsonDefect(token('{}', Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 32, [{}, {}])).to.equal('not_utf8');
    });

    it('refuses exactly the byte strings that are not UTF-8 (overlong forms, surrogates, past U+10FFFF, cut short), as Node\'s isUtf8 does', () => {
      const cases = [
        [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbb, 0xbf], [0xf4, 0x8f, 0xbf, 0xbf], [0xed, 0x9f, 0xbf], [0xe0, 0xa0, 0x80],
        [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf],
        [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0x80], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3, 0x41], [0xe2, 0x41, 0xac],
      ];
      // And random ones: printable ASCII but for `"` and `\`, mixed with bytes of 0x80 and up.
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let n = 0; n < 2_000; n++) {
        cases.push(Array.from({ length: 1 + Math.floor(random() * 8) }, () => (random() < 0.5 ? 0x80 + Math.floor(random() * 0x80) : [0x41, 0x20, 0x7b, 0x3a][Math.floor(random() * 4)]!)));
      }
      for (const inner of cases) {
        const bytes = Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, ...inner, 0x22, 0x7d]); // {"a":"…"}
        const expected = isUtf8(bytes) ? undefined : 'not_utf8';
        const parsed = expected === undefined ? JSON.parse(new TextDecoder().decode(bytes)) as object : {};
        expect(tokenJsonDefect(token('{"alg":"ES256"}', bytes), 32, [{ alg: 'ES256' }, parsed]), inner.map((b) => b.toString(16)).join(' ')).to.equal(expected);
      }
    });

    it('finds duplicate members and deep nesting in the header and in the payload alike, and nothing in ordinary JSON', () => {
      const expected: Array<[string, string | undefined]> = [
        ['{}', undefined], ['{"a":1,"b":[1,2,{"a":2}],"c":{"a":3}}', undefined], ['{"a":"\\"a\\":1","b":"{\\"a\\":1,\\"a\\":2}"}', undefined],
        ['{"a":1,"A":2,"a ":3}', undefined], ['{ "a" : 1 , "b" :\n2 }', undefined], ['{"\\\\":1,"\\\\\\\\":2}', undefined], ['{"k":"a","v":"k"}', undefined],
        ['{"a":[{"a":1},{"a":2}],"b":[[{"c":{}}]]}', undefined], ['{"__proto__":{"a":1}}', undefined], [`{"a":${'{"a":'.repeat(29)}1${'}'.repeat(29)}}`, undefined],
        ['{"a":1,"a":2}', 'duplicate_member'], ['{"a":1,"\\u0061":2}', 'duplicate_member'], ['{"a" :1,\n"a"\t: 2}', 'duplicate_member'],
        ['{"x":[{"y":{"a":1,"b":2,"a":3}}]}', 'duplicate_member'], ['{"\\"":1,"\\u0022":2}', 'duplicate_member'], ['{"":1,"":2}', 'duplicate_member'],
        ['{"__proto__":1,"__proto__":2}', 'duplicate_member'], ['{"a":{"b":1,"b":1},"c":2}', 'duplicate_member'],
        [`{"a":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`, 'too_deep'],
      ];
      for (const [text, want] of expected) {
        expect(defect('{"alg":"ES256"}', text), text).to.equal(want);
        expect(defect(text, '{"sub":"a"}'), text).to.equal(want);
      }
    });

    // The segments are decoded into one buffer reused from token to token (larger ones get their own).
    it('reads only the bytes of the token at hand, whatever longer token was checked before it', () => {
      const names = Array.from({ length: 200 }, (_, i) => `"m${i}":${i}`).join(',');
      expect(defect('{"alg":"ES256"}', `{${names}}`)).to.equal(undefined);
      // Shorter, after it: the leftover bytes past its end are member names and a broken UTF-8 sequence.
      expect(defect('{"alg":"ES256"}', '{"sub":"a"}')).to.equal(undefined);
      expect(defect('{"alg":"ES256"}', '{"sub":"a","sub":"b"}')).to.equal('duplicate_member');
      expect(tokenJsonDefect(token('{}', Uint8Array.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d])), 32, [{}, {}])).to.equal('not_utf8');
      expect(defect('{"alg":"ES256"}', '{"sub":"a"}')).to.equal(undefined);
      // A text ending in a string's closing quote: the `:` left just past it by {"a":1} is not its member name.
      expect(defect('{}', '{"a":1}')).to.equal(undefined);
      expect(defect('{}', '"ab"')).to.equal(undefined);
    });

    it('checks segments of any size: beyond the reused buffer as within it', () => {
      const big = `{"pad":"${'x'.repeat(40_000)}","sub":"a"}`;
      expect(defect('{"alg":"ES256"}', big)).to.equal(undefined);
      expect(defect('{"alg":"ES256"}', `${big.slice(0, -1)},"sub":"b"}`)).to.equal('duplicate_member');
      const bytes = Uint8Array.from([...Buffer.from(big.slice(0, -1)), 0x2c, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]); // ,"b":"<surrogate>"}
      expect(tokenJsonDefect(token('{}', bytes), 32, [{}, {}])).to.equal('not_utf8');
      expect(defect('{"alg":"ES256"}', '{"sub":"a"}')).to.equal(undefined);
    });
  });
});
