import { useEffect, useRef, useState, type FormEvent } from 'react';
import {
  api,
  type CreatedInvitation,
  type Invitation,
  type InvitationList,
  type Me,
  type Member,
  type MemberList,
  type Role,
  type Workspace,
} from '../api.js';
import { Link, navigate, useNotice } from '../router.js';
import { ErrorAlert, Field, fieldText, PageHeading, TableScroll, useAction } from '../ui.js';
import { dateTime, LoadError, mayManage } from './analysis-parts.js';

const roleNames: Record<Role, string> = {
  owner: 'Owner',
  admin: 'Admin',
  analyst: 'Analyst',
  viewer: 'Viewer',
};
const roles = Object.keys(roleNames) as Role[];

/**
 * The server's rule (canAssignRole): owners may do anything; admins may neither grant the owner
 * role nor change or remove an owner. Mirrored here only to leave out controls that would be
 * refused; the server decides.
 */
function mayAssign(actor: Workspace['role'], from: Role | null, to: Role | null): boolean {
  if (actor === 'owner') return true;
  if (actor !== 'admin') return false;
  return from !== 'owner' && to !== 'owner';
}

type State =
  | { kind: 'loading' }
  | { kind: 'failed'; error: unknown }
  | {
      kind: 'ready';
      workspace: Workspace;
      me: Me;
      members: Member[];
      /** Open invitations; null for roles that may not see them. */
      invitations: Invitation[] | null;
    };

/**
 * A workspace's members and their roles. Owners and admins also invite by email (the link is
 * shown once, as the API returns it), withdraw open invitations, change roles and remove members.
 */
export function Members({ workspaceId }: { workspaceId: string }) {
  const base = `/v1/workspaces/${workspaceId}`;
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [notice] = useNotice();
  /** The outcome of the last change made on this page, announced in role="status". */
  const [outcome, setOutcome] = useState<string | null>(null);
  // Bumped by each change: the lists are read again.
  const [version, setVersion] = useState(0);
  const listHeading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const [workspace, me, members] = await Promise.all([
          api<Workspace>('GET', base),
          api<Me>('GET', '/v1/auth/me'),
          api<MemberList>('GET', `${base}/members`),
        ]);
        const invitations = mayManage(workspace.role)
          ? (await api<InvitationList>('GET', `${base}/invitations`)).data
          : null;
        if (live) setState({ kind: 'ready', workspace, me, members: members.data, invitations });
      } catch (error) {
        if (live) setState({ kind: 'failed', error });
      }
    })();
    return () => {
      live = false;
    };
  }, [base, version]);

  if (state.kind === 'loading') return <p role="status">Loading…</p>;
  if (state.kind === 'failed') return <LoadError error={state.error} />;
  const { workspace, me, members, invitations } = state;
  const manager = mayManage(workspace.role);

  /** After a change: say what happened and read the lists again. */
  const changed = (message: string, focusList = false): void => {
    setOutcome(message);
    setVersion((v) => v + 1);
    // The control that had the focus may be gone (a removed row): the list's heading takes it.
    if (focusList) listHeading.current?.focus();
  };

  return (
    <section>
      {notice && <p role="status">{notice}</p>}
      <p>
        <Link to="/">Your workspaces</Link> ›{' '}
        <Link to={`/workspaces/${workspaceId}/analyses`}>{workspace.name}</Link>
      </p>
      <PageHeading title={`Members · ${workspace.name}`}>Members</PageHeading>
      <p role="status">{outcome}</p>
      {!manager && <p>Only the workspace&apos;s owners and admins can change who is a member.</p>}
      <h3 ref={listHeading} tabIndex={-1} id="members-list">
        Members of {workspace.name}
      </h3>
      <TableScroll label="Members table">
        <table>
          <caption className="visually-hidden">Members</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col">Two-factor</th>
              <th scope="col">Joined</th>
              {manager && <th scope="col">Remove</th>}
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <MemberRow
                key={m.user_id}
                base={base}
                member={m}
                you={m.user_id === me.id}
                actor={workspace.role}
                workspaceName={workspace.name}
                onChanged={changed}
              />
            ))}
          </tbody>
        </table>
      </TableScroll>
      {invitations && (
        <Invitations base={base} invitations={invitations} onChanged={(m) => changed(m, true)} />
      )}
      {manager && (
        <InviteForm base={base} actor={workspace.role} onInvited={() => setVersion((v) => v + 1)} />
      )}
    </section>
  );
}

function MemberRow({
  base,
  member: m,
  you,
  actor,
  workspaceName,
  onChanged,
}: {
  base: string;
  member: Member;
  you: boolean;
  actor: Workspace['role'];
  workspaceName: string;
  onChanged: (message: string, focusList?: boolean) => void;
}) {
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const removeButton = useRef<HTMLButtonElement>(null);
  const manager = mayManage(actor);
  const changeable = mayAssign(actor, m.role, null);
  const name = m.display_name ? `${m.display_name} (${m.email})` : m.email;

  const changeRole = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const role = fieldText(event.currentTarget, 'role') as Role;
    if (role === m.role) return;
    void action.run(async () => {
      await api<Member>('PATCH', `${base}/members/${m.user_id}`, { role });
      onChanged(`${m.email} is now ${roleNames[role].toLowerCase()}.`);
    });
  };
  const remove = (): void => {
    void action.run(async () => {
      await api<void>('DELETE', `${base}/members/${m.user_id}`);
      if (you) navigate('/', `You left ${workspaceName}.`);
      else onChanged(`${m.email} was removed from ${workspaceName}.`, true);
    });
  };
  const cancel = (): void => {
    setConfirming(false);
    // The confirmation's buttons go away: the focus goes back to where it came from.
    requestAnimationFrame(() => removeButton.current?.focus());
  };

  return (
    <tr>
      <th scope="row" className="post-text">
        {name}
        {you && ' (you)'}
      </th>
      <td>
        {changeable ? (
          <form onSubmit={changeRole} className="inline">
            <label className="visually-hidden" htmlFor={`role-${m.user_id}`}>
              Role of {m.email}
            </label>
            {/* Keyed by the role: a saved change (or one made elsewhere) resets the choice. */}
            <select key={m.role} id={`role-${m.user_id}`} name="role" defaultValue={m.role}>
              {roles
                .filter((r) => r === m.role || mayAssign(actor, m.role, r))
                .map((r) => (
                  <option key={r} value={r}>
                    {roleNames[r]}
                  </option>
                ))}
            </select>{' '}
            <button type="submit" disabled={action.busy}>
              Change role<span className="visually-hidden"> of {m.email}</span>
            </button>
          </form>
        ) : (
          roleNames[m.role]
        )}
        {!confirming && <ErrorAlert error={action.error} />}
      </td>
      <td>{m.mfa_enabled ? 'On' : 'Off'}</td>
      <td>{dateTime(m.joined_at)}</td>
      {manager && (
        <td>
          {changeable &&
            (confirming ? (
              <span role="group" aria-label={`Remove ${m.email}?`}>
                {you ? 'Leave the workspace?' : `Remove ${m.email}?`}{' '}
                <button type="button" autoFocus disabled={action.busy} onClick={remove}>
                  {you ? 'Yes, leave' : 'Yes, remove'}
                </button>{' '}
                <button type="button" onClick={cancel}>
                  Cancel
                </button>
                <ErrorAlert error={action.error} />
              </span>
            ) : (
              <button
                ref={removeButton}
                type="button"
                onClick={() => (setConfirming(true), action.setError(null))}
              >
                Remove<span className="visually-hidden"> {m.email}</span>
              </button>
            ))}
        </td>
      )}
    </tr>
  );
}

/** The invitations not yet accepted, withdrawn or expired; each can be withdrawn. */
function Invitations({
  base,
  invitations,
  onChanged,
}: {
  base: string;
  invitations: Invitation[];
  onChanged: (message: string) => void;
}) {
  return (
    <>
      <h3>Open invitations</h3>
      {invitations.length === 0 ? (
        <p>No open invitations.</p>
      ) : (
        <TableScroll label="Open invitations table">
          <table>
            <caption className="visually-hidden">Open invitations</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col">Withdraw</th>
              </tr>
            </thead>
            <tbody>
              {invitations.map((i) => (
                <InvitationRow key={i.id} base={base} invitation={i} onChanged={onChanged} />
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </>
  );
}

function InvitationRow({
  base,
  invitation: i,
  onChanged,
}: {
  base: string;
  invitation: Invitation;
  onChanged: (message: string) => void;
}) {
  const action = useAction();
  const withdraw = (): void => {
    void action.run(async () => {
      await api<void>('DELETE', `${base}/invitations/${i.id}`);
      onChanged(`The invitation to ${i.email} was withdrawn; its link no longer works.`);
    });
  };
  return (
    <tr>
      <th scope="row" className="post-text">
        {i.email}
      </th>
      <td>{roleNames[i.role]}</td>
      <td>{dateTime(i.expires_at)}</td>
      <td>
        <button type="button" disabled={action.busy} onClick={withdraw}>
          Withdraw<span className="visually-hidden"> the invitation to {i.email}</span>
        </button>
        <ErrorAlert error={action.error} />
      </td>
    </tr>
  );
}

/** Invites an email address with a role; the link is shown once, as the API returns it. */
function InviteForm({
  base,
  actor,
  onInvited,
}: {
  base: string;
  actor: Workspace['role'];
  onInvited: () => void;
}) {
  const action = useAction();
  const [created, setCreated] = useState<CreatedInvitation | null>(null);
  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const body = {
      email: fieldText(form, 'email').trim(),
      role: fieldText(form, 'role') as Role,
      expires_in_days: Number(fieldText(form, 'expires_in_days')),
    };
    setCreated(null);
    void action.run(async () => {
      setCreated(await api<CreatedInvitation>('POST', `${base}/invitations`, body));
      form.reset();
      onInvited();
    });
  };
  return (
    <form onSubmit={submit} aria-labelledby="invite-member">
      <h3 id="invite-member">Invite someone</h3>
      <Field label="Email" name="email" type="email" required maxLength={320} autoComplete="off" />
      <div className="field">
        <label htmlFor="invite-role">Role</label>
        <select id="invite-role" name="role" defaultValue="viewer">
          {roles
            .filter((r) => mayAssign(actor, null, r))
            .map((r) => (
              <option key={r} value={r}>
                {roleNames[r]}
              </option>
            ))}
        </select>
      </div>
      <Field
        label="Valid for (days)"
        name="expires_in_days"
        type="number"
        min={1}
        max={30}
        step={1}
        defaultValue={7}
        required
      />
      <p>
        <button type="submit" disabled={action.busy}>
          Send invitation
        </button>
      </p>
      <ErrorAlert error={action.error} />
      {created && (
        <div role="status">
          <p>
            {created.mailed
              ? `Invitation mailed to ${created.email} (${created.role}).`
              : `The invitation to ${created.email} (${created.role}) could not be mailed: pass the link on yourself.`}{' '}
            The link works once, until {dateTime(created.expires_at)}, and is shown only now.
          </p>
          <Field
            label="Invitation link"
            readOnly
            value={created.invite_url}
            onFocus={(event) => event.currentTarget.select()}
          />
        </div>
      )}
    </form>
  );
}
