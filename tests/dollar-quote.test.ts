import { describe, expect, it } from 'vitest';
import { dollarQuoted } from '../shared/store/rpc-sql.ts';

describe('dollarQuoted', () => {
  it('picks a tag that does not occur in the text, so the text cannot end the constant', () => {
    for (const text of ['{"a":"$j$"}', '$j$$j0$$j1$', "'; drop table x; --", 'plain']) {
      const quoted = dollarQuoted(text);
      const tag = /^(\$j\d*\$)/.exec(quoted)![1]!;
      expect(quoted).toBe(`${tag}${text}${tag}`);
      expect(text.includes(tag)).toBe(false);
    }
  });
});
