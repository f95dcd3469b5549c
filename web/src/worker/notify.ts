/**
 * E-mail notifications (docs/api.md "Notifications"), the twin of client_sdk/notifications.py:
 * opt in with an address and topics, read the choice back, opt out. Nothing here is a security
 * decision (a mail only says that something is waiting); the answer's shape is still checked.
 */

import { MalformedError } from "../vault/errors.js";
import type { Api } from "./api.js";
import type { NotifyChoice, NotifyTopic } from "./protocol.js";

export const NOTIFY_TOPICS: readonly NotifyTopic[] = ["shares", "receipts", "messages", "group_posts"];

function choiceOf(answer: unknown): NotifyChoice {
  const value = answer as Record<string, unknown> | null;
  if (typeof value !== "object" || value === null || typeof value.offered !== "boolean" || !(value.email === null || value.email === undefined || typeof value.email === "string")) {
    throw new MalformedError("server answer: the notification choice has the wrong shape");
  }
  return { offered: value.offered, email: typeof value.email === "string" ? value.email : null, topics: NOTIFY_TOPICS.filter((t) => value[t] === true) };
}

export async function notifyStatus(api: Api): Promise<NotifyChoice> {
  return choiceOf(await api.call("GET", "/notify"));
}

export async function notifyOn(api: Api, email: string, topics: readonly NotifyTopic[]): Promise<NotifyChoice> {
  const body: Record<string, unknown> = { email: email.trim() };
  for (const topic of NOTIFY_TOPICS) body[topic] = topics.includes(topic);
  return choiceOf(await api.call("PUT", "/notify", body));
}

export async function notifyOff(api: Api): Promise<void> {
  await api.call("DELETE", "/notify");
}
