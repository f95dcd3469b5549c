/**
 * "Leden": who is in the group's current epoch by its verified roster, with their roles; an
 * administrator adds a member by username (sealing the epoch's keys to them) and removes one
 * (a new epoch for everyone else: the removed member cannot read what is written after).
 */

import { useState } from "preact/hooks";

import { ApiError } from "../../../worker/errors.js";
import type { GroupRole } from "../../../worker/protocol.js";
import { useApp, useTask } from "../../context.js";
import { Alert, Button, Field } from "../../ui.js";
import type { LiveGroup } from "./live.js";

const ROLES: GroupRole[] = ["member", "editor", "admin"];

export function MembersPanel({ live }: { live: LiveGroup }) {
  const app = useApp();
  const { m } = app;
  const change = useTask();
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<GroupRole>("member");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const view = live.view;
  if (view === null) return null;
  const admin = view.myRole === "admin";

  const add = async (event: Event): Promise<void> => {
    event.preventDefault();
    const name = username.trim().toLowerCase();
    if (!/^[a-z0-9_-]{1,64}$/.test(name)) {
      setError(m.t("group.usernameInvalid"));
      document.getElementById("member-username")?.focus();
      return;
    }
    setError(null);
    setNotice(null);
    const done = await change.run(
      () => app.vault.call({ type: "addGroupMember", groupId: view.groupId, username: name, role }),
      "",
      (e) => (e instanceof ApiError && e.status === 404 ? m.t("group.userUnknown", { name }) : null),
    );
    if (done !== undefined) {
      setUsername("");
      setNotice(m.t("group.added", { name }));
      await live.reload();
    }
  };

  const remove = async (userId: string, name: string): Promise<void> => {
    if (!confirm(m.t("group.removeConfirm", { name }))) return;
    setNotice(null);
    const done = await change.run(() => app.vault.call({ type: "removeGroupMember", groupId: view.groupId, userId }));
    if (done !== undefined) {
      setNotice(m.t("group.removed", { name }));
      await live.reload();
    }
  };

  return (
    <div>
      {notice ? <Alert type="ok">{notice}</Alert> : null}
      {change.error ? <Alert type="error">{change.error}</Alert> : null}
      <table class="utrecht-table utrecht-table--html-table kluis-members" data-testid="members">
        <caption class="utrecht-table__caption">{m.t("group.membersCaption", { count: view.members.length })}</caption>
        <thead class="utrecht-table__header">
          <tr class="utrecht-table__row">
            <th class="utrecht-table__header-cell" scope="col">
              {m.t("group.col.name")}
            </th>
            <th class="utrecht-table__header-cell" scope="col">
              {m.t("group.col.role")}
            </th>
            {admin ? (
              <th class="utrecht-table__header-cell" scope="col">
                {m.t("group.col.actions")}
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody class="utrecht-table__body">
          {view.members.map((member) => (
            <tr class="utrecht-table__row" key={member.userId} data-member={member.username}>
              <th class="utrecht-table__header-cell" scope="row">
                {member.me ? m.t("group.you", { name: member.username }) : member.username}
                {member.verified || member.me ? "" : ` (${m.t("group.notVerified")})`}
              </th>
              <td class="utrecht-table__cell">{m.t(`group.role.${member.role}`)}</td>
              {admin ? (
                <td class="utrecht-table__cell">
                  {member.me ? null : (
                    <Button kind="secondary" disabled={change.busy} aria-label={m.t("group.removeLabel", { name: member.username })} onClick={() => void remove(member.userId, member.username)}>
                      {m.t("group.remove")}
                    </Button>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      <p class="utrecht-paragraph kluis-meta">{m.t("group.fingerprint", { fingerprint: view.fingerprint, epoch: view.epoch })}</p>
      {admin ? (
        <>
          <h2 class="utrecht-heading-2">{m.t("group.add")}</h2>
          <form onSubmit={add} class="kluis-form" noValidate>
            <Field
              id="member-username"
              label={m.t("group.username")}
              description={m.t("group.usernameHint")}
              error={error}
              input={{ type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: false, maxLength: 64, value: username, onInput: (e) => setUsername(e.currentTarget.value) }}
            />
            <div class="utrecht-form-field">
              <div class="utrecht-form-field__label">
                <label class="utrecht-form-label" for="member-role">
                  {m.t("group.col.role")}
                </label>
              </div>
              <select id="member-role" class="utrecht-select utrecht-select--html-select" value={role} onChange={(e) => setRole(e.currentTarget.value as GroupRole)}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {m.t(`group.role.${r}`)}
                  </option>
                ))}
              </select>
            </div>
            <div class="utrecht-button-group">
              <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={change.busy}>
                {m.t("group.addSubmit")}
              </button>
            </div>
          </form>
        </>
      ) : null}
    </div>
  );
}
