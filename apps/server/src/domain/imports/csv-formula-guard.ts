/**
 * The apostrophe that keeps a spreadsheet from running a CSV cell as a formula, and its undoing
 * on import, so that an exported CSV imports back to the same text.
 *
 * A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return after any number
 * of apostrophes gets one more apostrophe in front (OWASP's advice, extended to the apostrophes
 * so that the mapping is one to one); a CSV import removes one apostrophe from a cell that begins
 * with apostrophes followed by one of those characters. Replies begin with `@`, so without the
 * undoing every exported reply would come back with an apostrophe it never had.
 */
const GUARDED = /^'*[=+\-@\t\r]/;
const WITH_GUARD = /^'+[=+\-@\t\r]/;

export const guardFormula = (text: string): string => (GUARDED.test(text) ? `'${text}` : text);

export const unguardFormula = (text: string): string =>
  WITH_GUARD.test(text) ? text.slice(1) : text;
