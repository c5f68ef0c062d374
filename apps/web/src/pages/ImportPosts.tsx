import { useState, type FormEvent } from 'react';
import { api, type ImportResult } from '../api.js';
import { ErrorAlert, ShowMore, TableScroll, useAction } from '../ui.js';
import { count } from './analysis-parts.js';

type ImportReject = ImportResult['rejects'][number];
/** A page of `GET …/imports/{id}/rejects`: rejects numbered from 1 in the order found. */
interface RejectPage {
  data: ImportReject[];
  next_after: number | null;
}
const REJECTS_PAGE = 500;

/**
 * Adds posts to a workspace from a file: CSV, JSON Lines or a JSON array in the import format, or
 * a platform's own data export (X archive, Instagram, TikTok, YouTube). The server recognises
 * the format from the file's bytes and name, keeps every valid record and lists the rejected
 * ones with their line, field and reason.
 */
export function ImportPosts({
  workspaceId,
  onImported,
}: {
  workspaceId: string;
  onImported: () => void;
}) {
  const action = useAction();
  const [result, setResult] = useState<ImportResult | null>(null);
  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const file = (form.elements.namedItem('file') as HTMLInputElement | null)?.files?.[0];
    void action.run(async () => {
      if (!file) throw new Error('Choose a file to import.');
      setResult(null);
      const imported = await api<ImportResult>(
        'POST',
        `/v1/workspaces/${workspaceId}/imports?file_name=${encodeURIComponent(file.name)}`,
        file,
      );
      setResult(imported);
      form.reset();
      onImported();
    });
  };
  return (
    <form onSubmit={submit} aria-labelledby="import-posts">
      <h3 id="import-posts">Add posts</h3>
      <div className="field">
        <label htmlFor="import-file">File</label>
        <input
          id="import-file"
          name="file"
          type="file"
          aria-describedby="import-file-hint"
          accept=".csv,.jsonl,.ndjson,.json,.js,.zip"
        />
        <small id="import-file-hint">
          CSV, JSON Lines or a JSON array, one post per record (platform, external_id, created_at,
          text…: the import format in the <a href="/docs">API documentation</a>), or a
          platform&apos;s own data export: X archive, Instagram, TikTok, YouTube Takeout or Studio.
          A post imported again is updated, not duplicated.
        </small>
      </div>
      <p>
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Importing…' : 'Import'}
        </button>
      </p>
      <ErrorAlert error={action.error} />
      {result && <ImportOutcome key={result.id} workspaceId={workspaceId} result={result} />}
    </form>
  );
}

function ImportOutcome({ workspaceId, result: r }: { workspaceId: string; result: ImportResult }) {
  // The answer lists the first rejects; the rest are paged from the rejects route, after the
  // ones shown (numbered from 1 in the order found).
  const [rejects, setRejects] = useState<ImportReject[]>(r.rejects);
  const [nextAfter, setNextAfter] = useState<number | null>(
    r.rejects_truncated ? r.rejects.length : null,
  );
  const loadMore = async (after: string): Promise<void> => {
    const page = await api<RejectPage>(
      'GET',
      `/v1/workspaces/${workspaceId}/imports/${r.id}/rejects?after=${after}&limit=${REJECTS_PAGE}`,
    );
    setRejects((shown) => [...shown, ...page.data]);
    setNextAfter(page.next_after);
  };
  return (
    <div role="status">
      <p>
        {r.file_name ?? 'The file'} ({r.format}): read {count.format(r.read)}, inserted{' '}
        {count.format(r.inserted)}, updated {count.format(r.updated)}, unchanged{' '}
        {count.format(r.unchanged)}, rejected {count.format(r.rejected)}.
      </p>
      {rejects.length > 0 && (
        <TableScroll label="Rejected records">
          <table>
            <caption>
              Rejected records
              {rejects.length < r.rejected
                ? ` (the first ${count.format(rejects.length)} of ${count.format(r.rejected)})`
                : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Field</th>
                <th scope="col">Reason</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {rejects.map((reject, i) => (
                <tr key={`${reject.file ?? ''}:${reject.line}:${i}`}>
                  <th scope="row">
                    {reject.file && reject.file !== r.file_name ? `${reject.file}: ` : ''}
                    {reject.line}
                  </th>
                  <td>{reject.field ?? '—'}</td>
                  <td>{reject.reason}</td>
                  <td className="post-text">{reject.value ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <ShowMore next={nextAfter === null ? null : String(nextAfter)} load={loadMore} />
    </div>
  );
}
