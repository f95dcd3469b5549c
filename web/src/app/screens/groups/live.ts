/**
 * A group as the worker verified it, kept up to date live: after each verified view the page
 * asks the worker to wait on the group's Server-Sent Events (`groupWait`) and, when a newer
 * message is announced, asks for the whole view again, which the worker verifies as always
 * (the stream carries only a position). A SecurityError on the way goes to the security page.
 */

import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import type { GroupView } from "../../../worker/protocol.js";
import { useApp, useTask, type Task } from "../../context.js";

/** After a failed wait (the server gone for a moment), how long before listening again. */
const RETRY_MS = 2000;

export interface LiveGroup {
  view: GroupView | null;
  /** The live stream said this account is no longer a member. */
  removed: boolean;
  load: Task;
  reload(): Promise<GroupView | undefined>;
}

export function useLiveGroup(groupId: string): LiveGroup {
  const app = useApp();
  const load = useTask();
  const [view, setView] = useState<GroupView | null>(null);
  const [removed, setRemoved] = useState(false);
  const position = useRef(0);
  const reload = useCallback(async () => {
    const r = await load.run(() => app.vault.call({ type: "group", groupId }));
    if (r === undefined) return undefined;
    position.current = r.group.position;
    setView(r.group);
    return r.group;
  }, [groupId]);

  useEffect(() => {
    let alive = true;
    void (async () => {
      if ((await reload()) === undefined) return;
      while (alive) {
        let answer;
        try {
          answer = await app.vault.call({ type: "groupWait", groupId, after: position.current });
        } catch (error) {
          if (app.fail(error)) return;
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          continue;
        }
        if (!alive) return;
        if (answer.removed) {
          setRemoved(true);
          return;
        }
        if (answer.changed && (await reload()) === undefined) return;
      }
    })();
    return () => {
      alive = false;
    };
  }, [groupId]);

  return { view, removed, load, reload };
}
