/**
 * A group's home (`#/groepen/<id>/nieuws|chat|agenda|leden`) and a personal conversation
 * (`#/berichten/<id>`): one verified view of the group, kept live (live.ts), shown by tab. The
 * tabs are links (each tab has its own address, so the back button and a bookmark work).
 */

import { useApp } from "../../context.js";
import { hrefOf, type GroupTab } from "../../router.js";
import { Alert, Heading1, ProgressNote } from "../../ui.js";
import { AgendaPanel } from "./agenda.js";
import { ChatPanel } from "./chat.js";
import { useLiveGroup, type LiveGroup } from "./live.js";
import { MembersPanel } from "./members.js";
import { NewsPanel } from "./news.js";

const TABS: { tab: GroupTab; key: "news.tab" | "chat.tab" | "agenda.tab" | "group.membersTab" }[] = [
  { tab: "news", key: "news.tab" },
  { tab: "chat", key: "chat.tab" },
  { tab: "agenda", key: "agenda.tab" },
  { tab: "members", key: "group.membersTab" },
];

function Status({ live, loading }: { live: LiveGroup; loading: string }) {
  const { m } = useApp();
  return (
    <>
      {live.removed ? <Alert type="warning">{m.t("group.removedYou")}</Alert> : null}
      {live.load.error && !live.removed ? <Alert type="error">{live.load.error}</Alert> : null}
      {live.view === null && live.load.busy ? <ProgressNote progress={null} fallback={loading} /> : null}
    </>
  );
}

export function GroupScreen({ groupId, tab }: { groupId: string; tab: GroupTab }) {
  const { m } = useApp();
  const live = useLiveGroup(groupId);
  const view = live.view;
  return (
    <section aria-labelledby="group-title">
      <p class="kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "groups" })}>
          {m.t("group.back")}
        </a>
      </p>
      <Heading1>
        <span id="group-title">{view?.name ?? m.t("group.loading")}</span>
      </Heading1>
      {view !== null ? <p class="utrecht-paragraph kluis-meta">{m.t("group.kindGroup")} · {m.t(`group.role.${view.myRole ?? "member"}`)}</p> : null}
      <Status live={live} loading={m.t("group.loading")} />
      {view !== null ? (
        <>
          <nav class="kluis-tabs" aria-label={m.t("group.tabs")}>
            <ul>
              {TABS.map((t) => (
                <li key={t.tab}>
                  <a class="kluis-tabs__link" href={hrefOf({ name: "group", groupId, tab: t.tab })} aria-current={t.tab === tab ? "page" : undefined}>
                    {m.t(t.key)}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <h2 class="utrecht-heading-2 kluis-visually-hidden">{m.t(TABS.find((t) => t.tab === tab)?.key ?? "news.tab")}</h2>
          {tab === "news" ? <NewsPanel live={live} /> : null}
          {tab === "chat" ? <ChatPanel live={live} label={m.t("chat.tab")} /> : null}
          {tab === "agenda" ? <AgendaPanel live={live} /> : null}
          {tab === "members" ? <MembersPanel live={live} /> : null}
        </>
      ) : null}
    </section>
  );
}

export function ConversationScreen({ groupId }: { groupId: string }) {
  const { m } = useApp();
  const live = useLiveGroup(groupId);
  const other = live.view?.members.find((member) => !member.me)?.username ?? "";
  return (
    <section aria-labelledby="conversation-title">
      <p class="kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "inbox" })}>
          {m.t("messages.back")}
        </a>
      </p>
      <Heading1>
        <span id="conversation-title">{live.view !== null ? m.t("messages.with", { name: other }) : m.t("messages.loading")}</span>
      </Heading1>
      <Status live={live} loading={m.t("messages.loading")} />
      {live.view !== null ? <ChatPanel live={live} label={m.t("messages.with", { name: other })} /> : null}
    </section>
  );
}
