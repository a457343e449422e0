// vhupay's TypeScript client: the types in schema.d.ts are generated from api/openapi.yaml by
// openapi-typescript (`npm run generate`, never edited by hand); the calls are made by
// openapi-fetch, which checks paths, parameters, bodies and answers against those types.
//
//   const vhupay = createVhupayClient({ baseUrl: "http://127.0.0.1:8080", token: () => jwt });
//   const { data, error } = await vhupay.GET("/v1/orders/{id}", { params: { path: { id } } });
//   if (error) console.log(error.code); // a Problem: branch on its code (docs/errors.md)
import createClient, { type Client } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type { components, operations, paths };

/** Every schema of the document, by name: Schemas["PaymentIntent"], Schemas["Order"]... */
export type Schemas = components["schemas"];

/** An RFC 9457 problem, the body of every error answer. */
export type Problem = Schemas["Problem"];

/** The stable codes a problem can carry (docs/errors.md says what to do for each). */
export type ProblemCode = Problem["code"];

/** A typed vhupay client (openapi-fetch). */
export type VhupayClient = Client<paths>;

export interface VhupayOptions {
  /** vhupay's address, e.g. "http://127.0.0.1:8080" (no trailing /v1). */
  baseUrl: string;
  /** The bearer token, or a function returning the current one (undefined: no Authorization). */
  token?: string | (() => string | undefined);
  /** A fetch to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
}

/** createVhupayClient returns a client that sends the bearer token with every request. */
export function createVhupayClient(options: VhupayOptions): VhupayClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const token = options.token;
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        const value = typeof token === "function" ? token() : token;
        if (value) request.headers.set("Authorization", `Bearer ${value}`);
        return request;
      },
    });
  }
  return client;
}

/**
 * newIdempotencyKey returns a fresh Idempotency-Key. Make one per operation you mean (one
 * payment, one order) and send the same key again when you retry that operation.
 */
export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/** isProblem tells a problem answer (application/problem+json) from anything else. */
export function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && typeof (value as Problem).code === "string" &&
    typeof (value as Problem).status === "number";
}
