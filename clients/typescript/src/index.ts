/**
 * A typed client of the Guild API.
 *
 * `paths` and `components` are generated from `api-spec/openapi.json` by openapi-typescript
 * (`make spec` regenerates `schema.d.ts`; CI fails when it is stale or when this package no longer
 * type-checks against it). Calls go through openapi-fetch, so a path, parameter, body or response
 * that the contract does not have is a compile error.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type { components, paths } from "./schema";

/** An RFC 9457 problem, the body of every error response. */
export type Problem = components["schemas"]["Problem"];

/** Every stable `code` a problem can carry. */
export type ProblemCode = Problem["code"];

/** The client: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` over the documented paths. */
export type GuildClient = Client<paths>;

/**
 * A client for the API at `baseUrl` (the origin, e.g. `https://api.guild.example`; paths start
 * with `/v1`). With `token`, every request carries `Authorization: Bearer <token>`; call
 * `setToken` after signing in to switch to a session's token.
 */
export function createGuildClient(
  baseUrl: string,
  token?: string,
): GuildClient & { setToken(token: string | undefined): void } {
  let bearer = token;
  const client = createClient<paths>({ baseUrl: baseUrl.replace(/\/+$/, "") });
  const auth: Middleware = {
    onRequest({ request }) {
      if (bearer !== undefined && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${bearer}`);
      }
      return request;
    },
  };
  client.use(auth);
  return Object.assign(client, {
    setToken(next: string | undefined) {
      bearer = next;
    },
  });
}

/** A fresh `Idempotency-Key`: reuse it only to retry the same request. */
export function idempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}
