/**
 * A learner's journey, typed end to end against the contract: sign in, open a module, complete a
 * section, take its quiz (start an attempt, answer, submit with an `Idempotency-Key`) and download
 * the certificate as a PDF.
 *
 * With `make run`'s demo data: `learnerJourney("http://localhost:8080",
 * "employee@demo.guild.local", "guild-demo-password", moduleId)`.
 */
import { createGuildClient, idempotencyKey, type components } from "../src/index";

type Answer = components["schemas"]["AnswerDto"];

export async function learnerJourney(
  baseUrl: string,
  email: string,
  password: string,
  moduleId: string,
): Promise<Blob | undefined> {
  const guild = createGuildClient(baseUrl);

  // Sign in: the session's access token authenticates every later call.
  const session = await guild.POST("/v1/auth/login", { body: { email, password } });
  if (session.error) throw new Error(`sign-in failed: ${session.error.code}`);
  guild.setToken(session.data.access_token);

  // Open the module (this records the visit) and its sections.
  const module = await guild.GET("/v1/modules/{module_id}", {
    params: { path: { module_id: moduleId } },
  });
  if (module.error) throw new Error(`cannot open the module: ${module.error.code}`);
  const sections = await guild.GET("/v1/modules/{module_id}/sections", {
    params: { path: { module_id: moduleId } },
  });
  if (sections.error) throw new Error(sections.error.code);

  // Complete the first section.
  const first = sections.data.data[0];
  if (first) {
    const progress = await guild.POST("/v1/modules/{module_id}/sections/{section_id}/complete", {
      params: { path: { module_id: moduleId, section_id: first.id } },
    });
    if (progress.error) throw new Error(progress.error.code);
  }

  // Take the module's first quiz (lists come a page at a time: `{data, next_cursor}`): start an
  // attempt, answer every question, submit.
  const quizzes = await guild.GET("/v1/modules/{module_id}/quizzes", {
    params: { path: { module_id: moduleId } },
  });
  if (quizzes.error) throw new Error(quizzes.error.code);
  const quiz = quizzes.data.data[0];
  if (quiz) {
    const attempt = await guild.POST("/v1/quizzes/{quiz_id}/attempts", {
      params: { path: { quiz_id: quiz.id } },
    });
    if (attempt.error) throw new Error(`cannot start: ${attempt.error.code}`);
    const answers: Answer[] = attempt.data.questions.map((question) =>
      question.options.length > 0
        ? { question_id: question.id, option_ids: [question.options[0]!.id] }
        : { question_id: question.id, text: "My answer" },
    );
    // A retry with the same key gets the stored result back (`Idempotent-Replayed: true`)
    // instead of submitting twice.
    const key = idempotencyKey();
    const submitted = await guild.POST("/v1/attempts/{attempt_id}/submit", {
      params: { path: { attempt_id: attempt.data.id }, header: { "Idempotency-Key": key } },
      body: { answers },
    });
    if (submitted.error) throw new Error(`cannot submit: ${submitted.error.code}`);
  }

  // The certificate of the module, as a PDF.
  const certificates = await guild.GET("/v1/me/certificates");
  if (certificates.error) throw new Error(certificates.error.code);
  const certificate = certificates.data.data.find((c) => c.module_id === moduleId);
  if (!certificate) return undefined;
  const pdf = await guild.GET("/v1/certificates/{certificate_id}/pdf", {
    params: { path: { certificate_id: certificate.id } },
    parseAs: "blob",
  });
  if (pdf.error) throw new Error(pdf.error.code);
  return pdf.data;
}
