import type { ImportReject, ImportSummary } from '@socialpulse/contracts';
import type { ImportRunRecord, RejectRecord } from '../../../db/repos/imports.repo.js';

export const presentImport = (r: ImportRunRecord): ImportSummary => ({
  id: r.id,
  workspace_id: r.workspaceId,
  status: r.status,
  format: r.format as ImportSummary['format'],
  file_name: r.fileName,
  read: r.read,
  inserted: r.inserted,
  updated: r.updated,
  unchanged: r.unchanged,
  rejected: r.rejected,
  error: r.error,
  started_at: r.startedAt.toISOString(),
  finished_at: r.finishedAt?.toISOString() ?? null,
});

export const presentReject = (r: RejectRecord): ImportReject & { seq: number } => ({
  seq: r.seq,
  file: r.file,
  line: r.line,
  field: r.field,
  reason: r.reason,
  value: r.value,
});
