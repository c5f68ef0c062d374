import type { Queryable } from '../pool.js';
import { AppError, notFound } from '../../errors.js';

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: Date;
  postCount: number;
}

interface WorkspaceRow {
  id: string;
  name: string;
  created_at: Date;
  post_count: number;
}

const toWorkspace = (r: WorkspaceRow): WorkspaceRecord => ({ id: r.id, name: r.name, createdAt: r.created_at, postCount: r.post_count });

const SELECT = `SELECT w.id, w.name, w.created_at,
  (SELECT count(*) FROM posts p WHERE p.workspace_id = w.id)::int AS post_count
  FROM workspaces w`;

export async function listWorkspaces(db: Queryable): Promise<WorkspaceRecord[]> {
  const { rows } = await db.query<WorkspaceRow>(`${SELECT} ORDER BY w.created_at, w.id`);
  return rows.map(toWorkspace);
}

export async function findWorkspace(db: Queryable, id: string): Promise<WorkspaceRecord | null> {
  const { rows } = await db.query<WorkspaceRow>(`${SELECT} WHERE w.id = $1`, [id]);
  return rows[0] ? toWorkspace(rows[0]) : null;
}

export async function getWorkspace(db: Queryable, id: string): Promise<WorkspaceRecord> {
  const found = await findWorkspace(db, id);
  if (!found) throw notFound('workspace', id);
  return found;
}

export async function findWorkspaceByName(db: Queryable, name: string): Promise<WorkspaceRecord | null> {
  const { rows } = await db.query<WorkspaceRow>(`${SELECT} WHERE lower(w.name) = lower($1)`, [name]);
  return rows[0] ? toWorkspace(rows[0]) : null;
}

export async function insertWorkspace(db: Queryable, name: string): Promise<WorkspaceRecord> {
  try {
    const { rows } = await db.query<WorkspaceRow>(
      'INSERT INTO workspaces (name) VALUES ($1) RETURNING id, name, created_at, 0 AS post_count',
      [name],
    );
    return toWorkspace(rows[0] as WorkspaceRow);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new AppError('conflict', `A workspace named "${name}" already exists`, { details: { field: 'name', value: name } });
    }
    throw error;
  }
}

export async function countWorkspaces(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM workspaces');
  return rows[0]?.n ?? 0;
}
