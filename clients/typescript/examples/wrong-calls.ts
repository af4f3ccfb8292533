/**
 * Calls the contract forbids. Each must FAIL to type-check: `@ts-expect-error` turns the expected
 * error into success and its absence into an error ("Unused '@ts-expect-error' directive"), so
 * `tsc --noEmit` (CI) breaks the day the spec stops catching one of them. Keep each call on one
 * line: the directive covers the next line only.
 */
import { createGuildClient } from "../src/index";

export async function wrongCalls(moduleId: string): Promise<void> {
  const guild = createGuildClient("http://localhost:8080", "token");

  // A missing required field: signing in needs `password`.
  // @ts-expect-error Property 'password' is missing
  await guild.POST("/v1/auth/login", { body: { email: "eve@example.com" } });

  // An unknown enum value: a module's status is DRAFT, PUBLISHED or ARCHIVED.
  // @ts-expect-error Type '"DELETED"' is not assignable
  await guild.POST("/v1/modules/{module_id}/status", { params: { path: { module_id: moduleId }, header: { "If-Match": '"1"' } }, body: { status: "DELETED" } });

  // A missing `If-Match`: changing a module needs the ETag that was read.
  // @ts-expect-error Property 'header' is missing
  await guild.PATCH("/v1/modules/{module_id}", { params: { path: { module_id: moduleId } }, body: { title: "New title" } });
}
