/**
 * Calls the contract forbids. Each must FAIL to type-check: `@ts-expect-error` turns the expected
 * error into success and its absence into an error ("Unused '@ts-expect-error' directive"), so
 * `tsc --noEmit` (CI) breaks the day the spec stops catching one of them. Keep each call on one
 * line: the directive covers the next line only.
 */
import { createGuildClient } from "../src/index";

export async function wrongCalls(moduleId: string, quizId: string): Promise<void> {
  const guild = createGuildClient("http://localhost:8080", "token");

  // A missing required field: signing in needs `password`.
  // @ts-expect-error Property 'password' is missing
  await guild.POST("/v1/auth/login", { body: { email: "eve@example.com" } });

  // An unknown enum value: a question's kind is SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE,
  // FILL_IN_BLANK or ESSAY.
  // @ts-expect-error Type '"ESSAY_LONG"' is not assignable
  await guild.POST("/v1/quizzes/{quiz_id}/questions", { params: { path: { quiz_id: quizId } }, body: { kind: "ESSAY_LONG", prompt: "Why?" } });

  // A missing `If-Match`: changing a module needs the ETag that was read.
  // @ts-expect-error Property 'header' is missing
  await guild.PATCH("/v1/modules/{module_id}", { params: { path: { module_id: moduleId } }, body: { title: "New title" } });
}
