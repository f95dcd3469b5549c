/**
 * A small hash router: the server serves only `/` and `/assets/*`, so every screen lives in the
 * URL's fragment (which never reaches the server). Paths are Dutch, like the interface.
 */

import { useEffect, useState } from "preact/hooks";

export type Route =
  | { name: "login" }
  | { name: "register" }
  | { name: "recover" }
  | { name: "changePassphrase" }
  | { name: "notify" }
  | { name: "dossiers" }
  | { name: "dossier"; dossierId: string }
  | { name: "log"; dossierId: string }
  | { name: "versions"; documentId: string; dossierId: string }
  // -- sharing and contacts (screens/share.tsx, shared.tsx, contacts.tsx)
  | { name: "share"; dossierId: string; documentId: string | null }
  | { name: "shared" }
  | { name: "contacts"; username: string | null }
  // village groups and personal messages (screens/groups/)
  | { name: "groups" }
  | { name: "group"; groupId: string; tab: GroupTab }
  | { name: "messages" }
  | { name: "conversation"; groupId: string }
  // organisations, the case inbox and receipts (screens/organisations.tsx, inbox.tsx, receipts.tsx)
  | { name: "organisations" }
  | { name: "organisation"; orgId: string }
  | { name: "inbox"; orgId: string }
  | { name: "case"; orgId: string; dossierId: string }
  | { name: "receipts"; dossierId: string }
  | { name: "export"; dossierId: string };

/** A group home's tabs, by their Dutch path. */
export const GROUP_TABS = { nieuws: "news", chat: "chat", agenda: "agenda", leden: "members" } as const;
export type GroupTab = (typeof GROUP_TABS)[keyof typeof GROUP_TABS];

const ID = "([0-9a-f]{32})";

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "");
  let m: RegExpMatchArray | null;
  if (path === "/inloggen") return { name: "login" };
  if (path === "/account-aanmaken") return { name: "register" };
  if (path === "/account-herstellen") return { name: "recover" };
  if (path === "/wachtwoordzin-wijzigen") return { name: "changePassphrase" };
  if (path === "/meldingen") return { name: "notify" };
  if ((m = path.match(new RegExp(`^/dossiers/${ID}/logboek$`)))) return { name: "log", dossierId: m[1] as string };
  if ((m = path.match(new RegExp(`^/dossiers/${ID}/documenten/${ID}/versies$`)))) {
    return { name: "versions", dossierId: m[1] as string, documentId: m[2] as string };
  }
  if ((m = path.match(new RegExp(`^/dossiers/${ID}$`)))) return { name: "dossier", dossierId: m[1] as string };
  // -- sharing and contacts
  if ((m = path.match(new RegExp(`^/dossiers/${ID}/delen$`)))) return { name: "share", dossierId: m[1] as string, documentId: null };
  if ((m = path.match(new RegExp(`^/dossiers/${ID}/documenten/${ID}/delen$`)))) return { name: "share", dossierId: m[1] as string, documentId: m[2] as string };
  if (path === "/gedeeld-met-mij") return { name: "shared" };
  if (path === "/contacten") return { name: "contacts", username: null };
  if ((m = path.match(/^\/contacten\/([a-z0-9][a-z0-9._-]{0,63})$/))) return { name: "contacts", username: m[1] as string };
  // village groups and personal messages
  if (path === "/groepen") return { name: "groups" };
  if ((m = path.match(new RegExp(`^/groepen/${ID}(?:/(nieuws|chat|agenda|leden))?$`)))) {
    return { name: "group", groupId: m[1] as string, tab: GROUP_TABS[(m[2] ?? "nieuws") as keyof typeof GROUP_TABS] };
  }
  if (path === "/berichten") return { name: "messages" };
  if ((m = path.match(new RegExp(`^/berichten/${ID}$`)))) return { name: "conversation", groupId: m[1] as string };
  // organisations, the case inbox and receipts
  if (path === "/organisaties") return { name: "organisations" };
  if ((m = path.match(new RegExp(`^/organisaties/${ID}$`)))) return { name: "organisation", orgId: m[1] as string };
  if ((m = path.match(new RegExp(`^/organisaties/${ID}/dossiers$`)))) return { name: "inbox", orgId: m[1] as string };
  if ((m = path.match(new RegExp(`^/organisaties/${ID}/dossiers/${ID}$`)))) return { name: "case", orgId: m[1] as string, dossierId: m[2] as string };
  if ((m = path.match(new RegExp(`^/dossiers/${ID}/ontvangstbevestigingen$`)))) return { name: "receipts", dossierId: m[1] as string };
  if ((m = path.match(new RegExp(`^/dossiers/${ID}/exporteren$`)))) return { name: "export", dossierId: m[1] as string };
  return { name: "dossiers" };
}

export function hrefOf(route: Route): string {
  switch (route.name) {
    case "login":
      return "#/inloggen";
    case "register":
      return "#/account-aanmaken";
    case "recover":
      return "#/account-herstellen";
    case "changePassphrase":
      return "#/wachtwoordzin-wijzigen";
    case "notify":
      return "#/meldingen";
    case "dossiers":
      return "#/dossiers";
    case "dossier":
      return `#/dossiers/${route.dossierId}`;
    case "log":
      return `#/dossiers/${route.dossierId}/logboek`;
    case "versions":
      return `#/dossiers/${route.dossierId}/documenten/${route.documentId}/versies`;
    // -- sharing and contacts
    case "share":
      return route.documentId === null ? `#/dossiers/${route.dossierId}/delen` : `#/dossiers/${route.dossierId}/documenten/${route.documentId}/delen`;
    case "shared":
      return "#/gedeeld-met-mij";
    case "contacts":
      return route.username === null ? "#/contacten" : `#/contacten/${route.username}`;
    case "groups":
      return "#/groepen";
    case "group": {
      const tab = Object.entries(GROUP_TABS).find(([, t]) => t === route.tab)?.[0] ?? "nieuws";
      return `#/groepen/${route.groupId}/${tab}`;
    }
    case "messages":
      return "#/berichten";
    case "conversation":
      return `#/berichten/${route.groupId}`;
    case "organisations":
      return "#/organisaties";
    case "organisation":
      return `#/organisaties/${route.orgId}`;
    case "inbox":
      return `#/organisaties/${route.orgId}/dossiers`;
    case "case":
      return `#/organisaties/${route.orgId}/dossiers/${route.dossierId}`;
    case "receipts":
      return `#/dossiers/${route.dossierId}/ontvangstbevestigingen`;
    case "export":
      return `#/dossiers/${route.dossierId}/exporteren`;
  }
}

export function navigate(route: Route): void {
  const href = hrefOf(route);
  if (location.hash !== href) location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = (): void => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}
