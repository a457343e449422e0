// French formats and labels.

const eur = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });

/** euros formats cents: 123456 → "1 234,56 €" (with ordinary spaces). */
export function euros(cents: number): string {
  return eur.format(cents / 100).replace(/[\u202f\u00a0]/g, " ");
}

export function date(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleDateString("fr-FR", { timeZone: "Europe/Paris" }) : "—";
}

/** month writes "2026-11" as "novembre 2026". */
export function month(m: string): string {
  const [y, mm] = m.split("-").map(Number);
  return new Date(Date.UTC(y!, mm! - 1, 15)).toLocaleDateString("fr-FR", { month: "long", year: "numeric", timeZone: "UTC" });
}

export const orderStatus: Record<string, string> = {
  payment_pending: "Paiement non finalisé",
  confirmed: "Confirmée",
  cancelled: "Supprimée",
};

export const intentStatus: Record<string, string> = {
  requires_action: "En attente d'authentification",
  processing: "En cours",
  scheduled: "Programmé",
  succeeded: "Payé",
  failed: "Échoué",
  canceled: "Annulé",
};

export const methodLabel: Record<string, string> = {
  card: "Carte bancaire",
  sepa_debit: "Prélèvement fin de mois",
  vhu_invoice: "Facture fin de mois",
};

export const cardStatus: Record<string, string> = { active: "Active", blocked: "Bloquée", inactive: "Supprimée" };

export const mandateStatus: Record<string, string> = {
  pending_signature: "À signer",
  submitted: "Signé",
  active: "Actif",
  failed: "Refusé",
  expired: "Expiré",
  cancelled: "Annulé",
};

export const collectionStatus: Record<string, string> = {
  pending: "À prélever",
  submitted: "Envoyé à la banque",
  succeeded: "Prélevé",
  failed: "Impayé",
};

export const invoicingStatus: Record<string, string> = {
  pending: "En attente de réponse",
  approved: "Acceptée",
  rejected: "Refusée",
  revoked: "Révoquée",
};

export const statementStatus: Record<string, string> = { open: "En cours", issued: "Émis", paid: "Payé" };

/** lastErrorMessage explains a failed card payment (last_error.code) to the buyer. */
export function lastErrorMessage(code: string | undefined): string {
  switch (code) {
    case "card_declined":
      return "Paiement refusé par votre banque. Utilisez une autre carte ou un autre moyen de paiement.";
    case "authentication_failed":
      return "Authentification 3-D Secure annulée ou échouée. Vous pouvez réessayer.";
    case "card_blocked":
      return "Trois codes erronés : votre carte a été bloquée pour les paiements en ligne. Utilisez une autre carte.";
    case "expired":
      return "Le délai de paiement est dépassé. Vous pouvez réessayer.";
    default:
      return code ? `Paiement échoué (${code}).` : "Paiement échoué.";
  }
}

/** tokenisationMessage explains the card form's errorCode (docs/sandbox.md, "The card form"). */
export function tokenisationMessage(code: string): string {
  switch (code) {
    case "105202":
      return "Numéro de carte invalide. Vérifiez les chiffres saisis.";
    case "105203":
      return "Date d'expiration invalide ou dépassée (format MMAA).";
    case "105204":
      return "Cryptogramme invalide : les 3 chiffres au dos de la carte.";
    case "09101":
    case "02631":
      return "Une erreur est survenue, veuillez réessayer.";
    default:
      return "Carte refusée, vérifiez les informations saisies ou utilisez une autre carte.";
  }
}
