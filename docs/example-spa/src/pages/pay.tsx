import { useState } from "preact/hooks";
import { call, newIdempotencyKey, vhupay, type Schemas } from "../api";
import { cardStatus, euros, lastErrorMessage, orderStatus, tokenisationMessage } from "../format";
import { useAction, useLoad } from "../hooks";
import { Link, navigate } from "../router";
import { SEPABox } from "./sepa";

type Method = "card" | "sepa" | "invoice";

/** Pay is « Accéder au paiement » for one order: card, SEPA direct debit or end-of-month invoice. */
export function Pay(props: { orderId: string }) {
  const order = useLoad(() => call(vhupay().GET("/v1/orders/{id}", { params: { path: { id: props.orderId } } })), [props.orderId]);
  const [method, setMethod] = useState<Method>("card");
  const o = order.data;
  return (
    <section>
      <h1>Paiement de la commande</h1>
      {order.error && <p class="error">{order.error}</p>}
      {o && (
        <>
          <div id="order-summary" class="card">
            <ul>
              {o.lines.map((l) => (
                <li>
                  {l.quantity} × {l.label} — {euros(l.total)} TTC
                </li>
              ))}
            </ul>
            <p>
              Total TTC : <strong id="order-total">{euros(o.total)}</strong> (dont TVA {euros(o.total_vat)})
            </p>
            <p>
              Statut : <span id="order-status">{orderStatus[o.status]}</span>
            </p>
          </div>
          {o.status !== "payment_pending" ? (
            <p id="not-payable">Cette commande n'est plus à payer.</p>
          ) : (
            <>
              <div class="tabs">
                <button id="method-card" class={method === "card" ? "current" : "secondary"} onClick={() => setMethod("card")}>
                  Carte bancaire
                </button>
                <button id="method-sepa" class={method === "sepa" ? "current" : "secondary"} onClick={() => setMethod("sepa")}>
                  Prélèvement fin de mois
                </button>
                <button id="method-invoice" class={method === "invoice" ? "current" : "secondary"} onClick={() => setMethod("invoice")}>
                  Facture fin de mois
                </button>
              </div>
              {method === "card" && <CardPayment order={o} />}
              {method === "sepa" && <SEPAPayment order={o} />}
              {method === "invoice" && <InvoicePayment order={o} />}
            </>
          )}
        </>
      )}
    </section>
  );
}

/** browserInfo is what 3-D Secure wants to know about the buyer's browser. */
function browserInfo(): Schemas["BrowserInfo"] {
  const depths = [1, 4, 8, 15, 16, 24, 30, 32, 48];
  return {
    java_enabled: false,
    javascript_enabled: true,
    language: navigator.language,
    color_depth: (depths.includes(screen.colorDepth) ? screen.colorDepth : 24) as Schemas["BrowserInfo"]["color_depth"],
    screen_height: screen.height,
    screen_width: screen.width,
    time_zone_offset: new Date().getTimezoneOffset(),
  };
}

/** registerCard tokenises a card at the provider and returns vhupay's card id, or the form's error. */
async function registerCard(number: string, expiry: string, cvc: string): Promise<{ cardId?: string; formError?: string }> {
  const reg = await call(vhupay().POST("/v1/card-registrations", { body: {} }));
  // The card form goes straight to the provider's tokenisation URL, never to vhupay: card data
  // must not reach the marketplace's servers. The answer is "data=..." or "errorCode=...".
  const form = new URLSearchParams({
    data: reg.preregistration_data,
    accessKeyRef: reg.access_key,
    cardNumber: number.replace(/\s+/g, ""),
    cardExpirationDate: expiry.replace(/\D/g, ""),
    cardCvx: cvc.trim(),
  });
  const answer = (await (await fetch(reg.card_registration_url, { method: "POST", body: form })).text()).trim();
  if (!answer.startsWith("data=")) {
    return { formError: tokenisationMessage(answer.replace(/^errorCode=/, "")) };
  }
  const done = await call(
    vhupay().PUT("/v1/card-registrations/{id}", { params: { path: { id: reg.id } }, body: { registration_data: answer } }),
  );
  return { cardId: done.card_id };
}

function CardPayment(props: { order: Schemas["Order"] }) {
  const cards = useLoad(() => call(vhupay().GET("/v1/cards", { params: { query: { limit: 100 } } })));
  const usable = (cards.data?.data ?? []).filter((c) => c.status !== "inactive");
  const [choice, setChoice] = useState("");
  const [number, setNumber] = useState("");
  const [expiry, setExpiry] = useState("");
  const [cvc, setCvc] = useState("");
  const [formError, setFormError] = useState("");
  const action = useAction();
  const selected = choice || (usable.find((c) => c.status === "active")?.id ?? "new");

  const pay = () =>
    action.run(async () => {
      setFormError("");
      let cardId = selected;
      if (selected === "new") {
        const r = await registerCard(number, expiry, cvc);
        if (r.formError) {
          setFormError(r.formError);
          return;
        }
        cardId = r.cardId!;
      }
      const intent = await call(
        vhupay().POST("/v1/payment-intents", {
          params: { header: { "Idempotency-Key": newIdempotencyKey() } },
          body: {
            order_id: props.order.id,
            method: "card",
            card_id: cardId,
            return_url: `${location.origin}/paiement/retour`,
            browser_info: browserInfo(),
          },
        }),
      );
      if (intent.status === "requires_action" && intent.next_action) {
        location.assign(intent.next_action.redirect_to_url.url); // the bank's 3-D Secure page
        return;
      }
      navigate(`/paiement/retour?payment_intent=${intent.id}`);
    });

  return (
    <div class="card" id="card-payment">
      <h2>Carte bancaire</h2>
      <p>Le paiement est authentifié par votre banque (3-D Secure).</p>
      {usable.map((c) => (
        <label class="choice">
          <input type="radio" name="card" value={c.id} checked={selected === c.id} disabled={c.status !== "active"} onChange={() => setChoice(c.id)} />
          {c.brand} {c.alias} (exp. {c.expiration.slice(0, 2)}/{c.expiration.slice(2)}) — <span class={`status-${c.status}`}>{cardStatus[c.status]}</span>
        </label>
      ))}
      <label class="choice">
        <input type="radio" name="card" value="new" checked={selected === "new"} onChange={() => setChoice("new")} />
        Nouvelle carte
      </label>
      {selected === "new" && (
        <div class="card-form">
          <label>
            Numéro de carte
            <input id="card-number" inputMode="numeric" autoComplete="cc-number" value={number} onInput={(e) => setNumber(e.currentTarget.value)} />
          </label>
          <label>
            Expiration (MMAA)
            <input id="card-expiry" inputMode="numeric" maxLength={4} autoComplete="cc-exp" value={expiry} onInput={(e) => setExpiry(e.currentTarget.value)} />
          </label>
          <label>
            Cryptogramme
            <input id="card-cvc" inputMode="numeric" maxLength={3} autoComplete="cc-csc" value={cvc} onInput={(e) => setCvc(e.currentTarget.value)} />
          </label>
        </div>
      )}
      {formError && (
        <p class="error" id="card-error">
          {formError}
        </p>
      )}
      <button id="pay-card" disabled={action.busy} onClick={pay}>
        Payer {euros(props.order.total)}
      </button>
      {action.error && (
        <p class="error" id="pay-error">
          {action.error}
        </p>
      )}
    </div>
  );
}

function SEPAPayment(props: { order: Schemas["Order"] }) {
  const action = useAction();
  const pay = () =>
    action.run(async () => {
      const intent = await call(
        vhupay().POST("/v1/payment-intents", {
          params: { header: { "Idempotency-Key": newIdempotencyKey() } },
          body: { order_id: props.order.id, method: "sepa_debit" },
        }),
      );
      navigate(`/paiement/retour?payment_intent=${intent.id}`);
    });
  return (
    <div class="card" id="sepa-payment">
      <h2>Prélèvement fin de mois</h2>
      <p>Vos achats du mois sont prélevés en une fois, à la fin du mois, dans la limite de votre solde.</p>
      <SEPABox />
      <button id="pay-sepa" disabled={action.busy} onClick={pay}>
        Payer {euros(props.order.total)} par prélèvement
      </button>
      {action.error && (
        <p class="error" id="pay-error">
          {action.error}
        </p>
      )}
      <p>
        <Link href="/prelevements">Gérer mes comptes et mandats</Link>
      </p>
    </div>
  );
}

function InvoicePayment(props: { order: Schemas["Order"] }) {
  const accounts = useLoad(() =>
    call(vhupay().GET("/v1/invoicing-accounts", { params: { query: { center_id: props.order.center_id, limit: 100 } } })),
  );
  const approved = accounts.data?.data.some((a) => a.status === "approved");
  const action = useAction();
  const pay = () =>
    action.run(async () => {
      const intent = await call(
        vhupay().POST("/v1/payment-intents", {
          params: { header: { "Idempotency-Key": newIdempotencyKey() } },
          body: { order_id: props.order.id, method: "vhu_invoice" },
        }),
      );
      navigate(`/paiement/retour?payment_intent=${intent.id}`);
    });
  return (
    <div class="card" id="invoice-payment">
      <h2>Facture fin de mois</h2>
      {accounts.data && !approved ? (
        <p id="invoice-unavailable">
          Ce centre ne vous facture pas encore en fin de mois. <Link href="/facturation">Demander la facturation fin de mois</Link>
        </p>
      ) : (
        <>
          <p>Le centre vous facture en fin de mois, avec ses bons de livraison ou de retrait.</p>
          <button id="pay-invoice" disabled={action.busy || !approved} onClick={pay}>
            Payer {euros(props.order.total)} sur facture fin de mois
          </button>
        </>
      )}
      {action.error && (
        <p class="error" id="pay-error">
          {action.error}
        </p>
      )}
    </div>
  );
}

/** PaymentReturn is where the bank sends the buyer back (return_url?payment_intent=...). */
export function PaymentReturn(props: { intentId: string }) {
  // Reading the intent refreshes a card payment from the provider first.
  const intent = useLoad(() => call(vhupay().GET("/v1/payment-intents/{id}", { params: { path: { id: props.intentId } } })), [props.intentId]);
  const pi = intent.data;
  let title = "";
  let message = "";
  if (pi) {
    switch (pi.status) {
      case "succeeded":
        title = "Paiement accepté";
        message = `Votre paiement de ${euros(pi.amount)} est accepté : la commande est confirmée.`;
        break;
      case "scheduled":
        title = "Paiement accepté";
        message =
          pi.method === "sepa_debit"
            ? `${euros(pi.amount)} seront prélevés à la fin du mois. La commande est confirmée.`
            : `${euros(pi.amount)} figureront sur la facture de fin de mois du centre. La commande est confirmée.`;
        break;
      case "failed":
      case "canceled":
        title = pi.status === "failed" ? "Paiement refusé" : "Paiement annulé";
        message = lastErrorMessage(pi.last_error?.code);
        break;
      default:
        title = "Paiement en attente";
        message = "Votre banque n'a pas encore répondu. Rechargez la page dans un instant.";
    }
  }
  return (
    <section>
      <h1>Résultat du paiement</h1>
      {intent.error && <p class="error">{intent.error}</p>}
      {pi && (
        <div id="payment-result" data-status={pi.status} data-error={pi.last_error?.code ?? ""} class={`card result-${pi.status}`}>
          <h2>{title}</h2>
          <p id="payment-message">{message}</p>
        </div>
      )}
      <p>
        {pi && (pi.status === "failed" || pi.status === "canceled") && (
          <>
            <button id="retry-payment" onClick={() => navigate(`/paiement/${pi.order_id}`)}>
              Réessayer le paiement
            </button>{" "}
          </>
        )}
        <Link href="/commandes" id="back-orders">
          Mes commandes
        </Link>
      </p>
    </section>
  );
}
