import { useState } from "preact/hooks";
import { call, newIdempotencyKey, reasonLabels, vhupay, type Schemas } from "../api";
import { collectionStatus, date, euros, intentStatus, mandateStatus, month } from "../format";
import { useAction, useLoad } from "../hooks";
import { Link } from "../router";

/** SEPABox is the green box of « Gestion des prélèvements »: the solde (available) and the
 * encours (outstanding: the month's accepted SEPA payments), within the ceiling. */
export function SEPABox(props: { profile?: Schemas["SEPAProfile"] }) {
  const loaded = useLoad(() => (props.profile ? Promise.resolve(props.profile) : call(vhupay().GET("/v1/sepa"))), [props.profile]);
  const p = loaded.data;
  if (loaded.error) return <p class="error">{loaded.error}</p>;
  if (!p) return null;
  return (
    <div id="sepa-balance" class={p.enabled ? "sepa-box enabled" : "sepa-box disabled"} data-enabled={String(p.enabled)}>
      <p class="solde">
        Solde disponible : <strong id="sepa-available">{euros(p.available)}</strong>
      </p>
      <p>
        Encours du mois ({month(p.month)}) : <strong id="sepa-outstanding">{euros(p.outstanding)}</strong>
        {" · "}Plafond : <span id="sepa-ceiling">{euros(p.ceiling)}</span>
      </p>
      {!p.enabled && (
        <div id="sepa-reasons">
          Le prélèvement n'est pas disponible :
          <ul>
            {p.reasons.map((r) => (
              <li data-reason={r}>{reasonLabels[r] ?? r}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** SEPA is « Gestion des prélèvements »: the balance, the bank accounts and their mandates, the
 * month's debits and the past ones. */
export function SEPA() {
  const profile = useLoad(() => call(vhupay().GET("/v1/sepa")));
  const accounts = useLoad(() => call(vhupay().GET("/v1/bank-accounts", { params: { query: { limit: 100 } } })));
  const mandates = useLoad(() => call(vhupay().GET("/v1/mandates", { params: { query: { limit: 100 } } })));
  const intents = useLoad(() => call(vhupay().GET("/v1/payment-intents", { params: { query: { limit: 100 } } })));
  const collections = useLoad(() => call(vhupay().GET("/v1/sepa/collections", { params: { query: { limit: 100 } } })));
  const action = useAction();

  const p = profile.data;
  const monthDebits = (intents.data?.data ?? []).filter(
    (pi) => pi.method === "sepa_debit" && pi.collection_month === p?.month && (pi.status === "scheduled" || pi.status === "succeeded"),
  );
  const mandateOf = (a: Schemas["BankAccount"]) => (mandates.data?.data ?? []).find((m) => m.bank_account_id === a.id);

  const sign = (accountId: string) =>
    action.run(async () => {
      const m = await call(
        vhupay().POST("/v1/bank-accounts/{id}/mandates", {
          params: { path: { id: accountId }, header: { "Idempotency-Key": newIdempotencyKey() } },
          body: { return_url: `${location.origin}/prelevements/mandat` },
        }),
      );
      location.assign(m.signature_url); // the provider's e-signature page
    });

  return (
    <section>
      <h1>Gestion des prélèvements</h1>
      {p && <SEPABox profile={p} />}
      {profile.error && <p class="error">{profile.error}</p>}
      {action.error && (
        <p class="error" id="sepa-error">
          {action.error}
        </p>
      )}

      <h2>Mes comptes bancaires</h2>
      <ul id="bank-accounts">
        {(accounts.data?.data ?? [])
          .filter((a) => a.status === "active")
          .map((a) => {
            const m = mandateOf(a);
            const signed = m && (m.status === "submitted" || m.status === "active");
            return (
              <li data-account={a.id}>
                <code>{a.masked_iban}</code> — {a.owner_name} {a.is_default && <span class="badge">par défaut</span>}{" "}
                <span class="mandate" data-mandate-status={m?.status ?? "none"}>
                  Mandat : {m ? mandateStatus[m.status] : "aucun"}
                </span>{" "}
                {!signed && (
                  <button class="sign-mandate" disabled={action.busy} onClick={() => sign(a.id)}>
                    Signer le mandat
                  </button>
                )}
              </li>
            );
          })}
      </ul>
      <AddAccount sign={sign} first={(accounts.data?.data ?? []).every((a) => a.status !== "active")} />

      <h2>Prélèvements du mois{p ? ` (${month(p.month)})` : ""}</h2>
      {monthDebits.length === 0 ? (
        <p id="month-debits-empty">Aucun achat payé par prélèvement ce mois-ci.</p>
      ) : (
        <table id="month-debits">
          <tbody>
            {monthDebits.map((pi) => (
              <tr data-intent={pi.id}>
                <td>{date(pi.created_at)}</td>
                <td>Commande {pi.order_id}</td>
                <td class="amount">{euros(pi.amount)}</td>
                <td>{intentStatus[pi.status]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Prélèvements passés</h2>
      {(collections.data?.data ?? []).length === 0 ? (
        <p>Aucun prélèvement pour l'instant : le premier aura lieu à la fin du mois.</p>
      ) : (
        <table id="collections">
          <tbody>
            {collections.data?.data.map((c) => (
              <tr data-collection={c.id} data-status={c.status}>
                <td>{month(c.month)}</td>
                <td class="amount">{euros(c.amount)}</td>
                <td>{collectionStatus[c.status]}</td>
                <td>{c.settled_at ? date(c.settled_at) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** AddAccount adds a bank account, then sends the buyer to sign its mandate. */
function AddAccount(props: { sign: (accountId: string) => Promise<void>; first: boolean }) {
  const [f, setF] = useState({ owner: "", line1: "", postal: "", city: "", iban: "", bic: "" });
  const action = useAction();
  const field = (name: keyof typeof f, id: string, label: string) => (
    <label>
      {label}
      <input id={id} value={f[name]} onInput={(e) => setF({ ...f, [name]: e.currentTarget.value })} />
    </label>
  );
  const add = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const a = await call(
        vhupay().POST("/v1/bank-accounts", {
          params: { header: { "Idempotency-Key": newIdempotencyKey() } },
          body: {
            owner_name: f.owner,
            owner_address: { line1: f.line1, postal_code: f.postal, city: f.city, country: "FR" },
            iban: f.iban,
            ...(f.bic ? { bic: f.bic } : {}),
          },
        }),
      );
      await props.sign(a.id);
    });
  };
  return (
    <details class="card" open={props.first}>
      <summary>{props.first ? "Ajouter un compte" : "Modifier et/ou ajouter un compte"}</summary>
      <form id="add-account" onSubmit={add}>
      {field("owner", "owner-name", "Titulaire du compte")}
      {field("line1", "owner-line1", "Adresse")}
      {field("postal", "owner-postal", "Code postal")}
      {field("city", "owner-city", "Ville")}
      {field("iban", "iban", "IBAN")}
      {field("bic", "bic", "BIC (facultatif)")}
      <button id="add-account-submit" type="submit" disabled={action.busy}>
        Ajouter et signer le mandat
      </button>
      {action.error && (
        <p class="error" id="add-account-error">
          {action.error}
        </p>
      )}
      </form>
    </details>
  );
}

/** MandateReturn is where the e-signature page sends the buyer back (?mandate_id=...). */
export function MandateReturn(props: { mandateId: string }) {
  const mandate = useLoad(() => call(vhupay().GET("/v1/mandates/{id}", { params: { path: { id: props.mandateId } } })), [props.mandateId]);
  const m = mandate.data;
  const signed = m && (m.status === "submitted" || m.status === "active");
  return (
    <section>
      <h1>Mandat de prélèvement</h1>
      {mandate.error && <p class="error">{mandate.error}</p>}
      {m && (
        <div id="mandate-result" data-status={m.status} class={`card ${signed ? "result-succeeded" : "result-failed"}`}>
          <h2>{signed ? "Mandat signé" : m.status === "pending_signature" ? "Mandat en attente de signature" : "Mandat non signé"}</h2>
          <p>Référence du mandat : {m.reference}</p>
        </div>
      )}
      {m && <SEPABox />}
      <p>
        <Link href="/prelevements" id="back-sepa">
          Gestion des prélèvements
        </Link>
      </p>
    </section>
  );
}
