// The only way this app calls vhupay: the client generated from api/openapi.yaml (api/typescript,
// openapi-typescript + openapi-fetch). Paths, parameters, bodies and answers are typed from the
// document; problems are turned into French messages for the user here.
import { createVhupayClient, isProblem, newIdempotencyKey, type Problem, type Schemas, type VhupayClient } from "@vhupay/client";
import { euros } from "./format";
import { loadSession } from "./session";

export type { Problem, Schemas };
export { newIdempotencyKey };

let cached: { api: string; client: VhupayClient } | null = null;

/** vhupay returns the client for the session's server, sending the session's token. */
export function vhupay(): VhupayClient {
  const s = loadSession();
  const api = s?.api ?? "";
  if (!cached || cached.api !== api) {
    cached = { api, client: createVhupayClient({ baseUrl: api, token: () => loadSession()?.token }) };
  }
  return cached.client;
}

/** ApiError is a failed call: the problem vhupay answered, or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem?: Problem,
  ) {
    super(problem ? problemMessage(problem) : "vhupay ne répond pas. Vérifiez l'adresse de l'API et votre connexion.");
  }
}

/** call awaits an openapi-fetch call and returns its data, or throws an ApiError. */
export async function call<D>(request: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  let result: { data?: D; error?: unknown; response: Response };
  try {
    result = await request;
  } catch {
    throw new ApiError(0);
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, isProblem(result.error) ? result.error : undefined);
  }
  return result.data as D;
}

export const reasonLabels: Record<string, string> = {
  no_bank_account: "aucun compte bancaire enregistré",
  no_active_mandate: "aucun mandat de prélèvement signé",
  no_score: "évaluation financière manquante",
  score_below_minimum: "évaluation financière insuffisante (moins de 10/20)",
  score_unavailable: "évaluation financière indisponible",
  unpaid_debit: "un prélèvement est revenu impayé : contactez la plateforme",
};

/** problemMessage says, in French, what went wrong and what to do (docs/errors.md). */
export function problemMessage(p: Problem): string {
  switch (p.code) {
    case "card_blocked":
      return "Cette carte a été bloquée après trois codes erronés. Utilisez une autre carte.";
    case "card_inactive":
      return "Cette carte a été supprimée. Utilisez une autre carte.";
    case "card_registration_failed":
      return "La carte n'a pas pu être enregistrée. Saisissez-la de nouveau.";
    case "order_not_payable":
      return "Cette commande n'est plus à payer : elle est déjà confirmée ou supprimée.";
    case "order_not_deletable":
      return "Seule une commande au paiement non finalisé peut être supprimée.";
    case "sepa_ceiling_exceeded":
      return `Montant supérieur à votre solde de prélèvement disponible (${euros(p.available ?? 0)}). Choisissez un autre moyen de paiement.`;
    case "sepa_not_eligible":
      return `Le prélèvement n'est pas disponible : ${(p.reasons ?? []).map((r) => reasonLabels[r] ?? r).join(", ")}.`;
    case "invoicing_not_approved":
      return "Ce centre n'a pas accepté de vous facturer en fin de mois.";
    case "invoicing_account_exists":
      return "Une demande de facturation existe déjà pour ce centre.";
    case "bank_account_exists":
      return "Ce compte bancaire est déjà enregistré.";
    case "delivery_note_exists":
      return "Ce numéro de bon est déjà utilisé. Prenez le numéro suivant.";
    case "invalid_transition":
      return "Cette action n'est plus possible dans l'état actuel. Rechargez la page.";
    case "psp_unavailable":
      return "Service de paiement momentanément indisponible. Réessayez dans quelques instants.";
    case "score_unavailable":
      return "L'évaluation financière est momentanément indisponible. Réessayez plus tard.";
    case "rate_limited":
      return "Trop de demandes : réessayez plus tard.";
    case "unauthenticated":
      return "Votre session a expiré : reconnectez-vous.";
    case "forbidden":
      return "Votre compte ne permet pas cette action.";
    case "not_found":
      return "Introuvable.";
    case "validation_failed":
      return `Saisie invalide : ${(p.errors ?? []).map((e) => `${e.field} ${e.message}`).join(" ; ") || p.detail || ""}`;
    default:
      return `${p.title} (${p.code}, demande ${p.request_id}).`;
  }
}
