import type { FastifyRequest } from 'fastify';
import type { AuditEntry } from '../db/repos/audit.repo.js';

/** Who made a request and from where, as every audit entry a route writes records it. */
export function auditedRequest(
  request: FastifyRequest,
): Pick<AuditEntry, 'userId' | 'actor' | 'ip' | 'requestId'> {
  const actor = request.actor();
  return { userId: actor.userId, actor: actor.label, ip: request.ip, requestId: request.id };
}
