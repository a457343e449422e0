import { useState } from "preact/hooks";
import { call, newIdempotencyKey, vhupay, type Schemas } from "../api";
import { date, euros, invoicingStatus, month, orderStatus, statementStatus } from "../format";
import { useAction, useLoad } from "../hooks";

/** centerNames maps the centres' ids to their names. */
function useCenterNames() {
  const centers = useLoad(() => call(vhupay().GET("/v1/centers", { params: { query: { limit: 100 } } })));
  const names: Record<string, string> = {};
  for (const c of centers.data?.data ?? []) names[c.id] = c.name;
  return { centers: centers.data?.data ?? [], names };
}

/** BuyerInvoicing: ask a centre for end-of-month invoicing, follow the answers and the statements. */
export function BuyerInvoicing(props: { buyerId: string }) {
  const { centers, names } = useCenterNames();
  const accounts = useLoad(() => call(vhupay().GET("/v1/invoicing-accounts", { params: { query: { limit: 100 } } })));
  const [center, setCenter] = useState("");
  const action = useAction();
  const chosen = center || centers[0]?.id || "";
  const ask = () =>
    action.run(async () => {
      await call(
        vhupay().POST("/v1/invoicing-accounts", {
          params: { header: { "Idempotency-Key": newIdempotencyKey() } },
          body: { center_id: chosen },
        }),
      );
      accounts.reload();
    });
  return (
    <section>
      <h1>Facture fin de mois</h1>
      <p>Un centre VHU qui l'accepte vous facture en fin de mois, avec ses bons de livraison (BL) ou de retrait (BR).</p>
      <div class="card">
        <label>
          Centre VHU
          <select id="invoicing-center" value={chosen} onChange={(e) => setCenter(e.currentTarget.value)}>
            {centers.map((c) => (
              <option value={c.id}>{c.name}</option>
            ))}
          </select>
        </label>
        <button id="ask-invoicing" disabled={action.busy || !chosen} onClick={ask}>
          Demander la facturation fin de mois
        </button>
        {action.error && (
          <p class="error" id="invoicing-error">
            {action.error}
          </p>
        )}
      </div>
      <h2>Mes demandes</h2>
      <table id="invoicing-accounts">
        <tbody>
          {accounts.data?.data.map((a) => (
            <tr data-account={a.id} data-status={a.status}>
              <td>{names[a.center_id] ?? a.center_id}</td>
              <td>{invoicingStatus[a.status]}</td>
              <td>{a.note ?? ""}</td>
              <td>{date(a.decided_at ?? a.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Mes relevés</h2>
      <Statements viewer="buyer" names={names} ownId={props.buyerId} />
    </section>
  );
}

/** CenterApprovals: the buyers' requests for end-of-month invoicing, to approve, refuse or revoke. */
export function CenterApprovals() {
  const accounts = useLoad(() => call(vhupay().GET("/v1/invoicing-accounts", { params: { query: { limit: 100 } } })));
  const [notes, setNotes] = useState<Record<string, string>>({});
  const action = useAction();
  const decide = (a: Schemas["InvoicingAccount"], decision: "approve" | "reject" | "revoke") =>
    action.run(async () => {
      const note = notes[a.id]?.trim();
      const init = {
        params: { path: { id: a.id }, header: { "Idempotency-Key": newIdempotencyKey() } },
        body: note ? { note } : {},
      };
      if (decision === "approve") await call(vhupay().POST("/v1/invoicing-accounts/{id}/approve", init));
      else if (decision === "reject") await call(vhupay().POST("/v1/invoicing-accounts/{id}/reject", init));
      else await call(vhupay().POST("/v1/invoicing-accounts/{id}/revoke", init));
      setNotes({ ...notes, [a.id]: "" });
      accounts.reload();
    });
  return (
    <section>
      <h1>Demandes de facturation fin de mois</h1>
      {accounts.error && <p class="error">{accounts.error}</p>}
      {action.error && (
        <p class="error" id="decision-error">
          {action.error}
        </p>
      )}
      {accounts.data?.data.length === 0 && <p>Aucune demande.</p>}
      <table id="approvals">
        <tbody>
          {accounts.data?.data.map((a) => (
            <tr data-account={a.id} data-status={a.status}>
              <td>Garage {a.buyer_id}</td>
              <td>{date(a.created_at)}</td>
              <td class="status">{invoicingStatus[a.status]}</td>
              <td>
                {(a.status === "pending" || a.status === "approved") && (
                  <input class="note" placeholder="Note (facultatif)" value={notes[a.id] ?? ""} onInput={(e) => setNotes({ ...notes, [a.id]: e.currentTarget.value })} />
                )}
              </td>
              <td>
                {a.status === "pending" && (
                  <>
                    <button class="approve" disabled={action.busy} onClick={() => decide(a, "approve")}>
                      Accepter
                    </button>{" "}
                    <button class="reject secondary" disabled={action.busy} onClick={() => decide(a, "reject")}>
                      Refuser
                    </button>
                  </>
                )}
                {a.status === "approved" && (
                  <button class="revoke secondary" disabled={action.busy} onClick={() => decide(a, "revoke")}>
                    Révoquer
                  </button>
                )}
                {a.note && <small> « {a.note} »</small>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** CenterOrders: the orders the centre sold, with their delivery notes (BL or BR). */
export function CenterOrders() {
  const orders = useLoad(() => call(vhupay().GET("/v1/orders", { params: { query: { limit: 100 } } })));
  const [forms, setForms] = useState<Record<string, { kind: "BL" | "BR"; number: string }>>({});
  const action = useAction();
  const add = (o: Schemas["Order"]) =>
    action.run(async () => {
      const f = forms[o.id] ?? { kind: o.delivery_mode === "pickup" ? "BR" : "BL", number: "" };
      await call(
        vhupay().POST("/v1/orders/{id}/delivery-notes", {
          params: { path: { id: o.id }, header: { "Idempotency-Key": newIdempotencyKey() } },
          body: { kind: f.kind, number: f.number },
        }),
      );
      setForms({ ...forms, [o.id]: { ...f, number: "" } });
      orders.reload();
    });
  return (
    <section>
      <h1>Commandes et bons de livraison</h1>
      {orders.error && <p class="error">{orders.error}</p>}
      {action.error && (
        <p class="error" id="note-error">
          {action.error}
        </p>
      )}
      <table id="center-orders">
        <tbody>
          {orders.data?.data.map((o) => {
            const f = forms[o.id] ?? { kind: o.delivery_mode === "pickup" ? "BR" : "BL", number: "" };
            return (
              <tr data-order={o.id} data-status={o.status}>
                <td>{date(o.created_at)}</td>
                <td>{o.lines.map((l) => `${l.quantity} × ${l.label}`).join(", ")}</td>
                <td class="amount">{euros(o.total)}</td>
                <td>{orderStatus[o.status]}</td>
                <td class="notes">
                  {o.delivery_notes.map((n) => (
                    <span class="badge">
                      {n.kind} {n.number}
                    </span>
                  ))}
                  {o.status === "confirmed" && (
                    <span class="note-form">
                      <select class="note-kind" value={f.kind} onChange={(e) => setForms({ ...forms, [o.id]: { ...f, kind: e.currentTarget.value as "BL" | "BR" } })}>
                        <option value="BL">BL (livraison)</option>
                        <option value="BR">BR (retrait)</option>
                      </select>
                      <input class="note-number" placeholder="Numéro" value={f.number} onInput={(e) => setForms({ ...forms, [o.id]: { ...f, number: e.currentTarget.value } })} />
                      <button class="add-note" disabled={action.busy || !f.number.trim()} onClick={() => add(o)}>
                        Joindre le bon
                      </button>
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** CenterStatements: the centre's monthly statements, to mark paid and export. */
export function CenterStatements(props: { centerId: string }) {
  return (
    <section>
      <h1>Relevés mensuels</h1>
      <Statements viewer="center" names={{}} ownId={props.centerId} />
    </section>
  );
}

/** download fetches a statement's export with the token and hands it to the browser as a file. */
async function download(id: string, kind: "csv" | "pdf") {
  const path = kind === "csv" ? "/v1/statements/{id}/export.csv" : "/v1/statements/{id}/export.pdf";
  const blob = await call(vhupay().GET(path, { params: { path: { id } }, parseAs: "blob" }));
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob as Blob);
  a.download = `releve-${id}.${kind}`;
  a.click();
  URL.revokeObjectURL(a.href);
}

function Statements(props: { viewer: "buyer" | "center"; names: Record<string, string>; ownId: string }) {
  const statements = useLoad(() => call(vhupay().GET("/v1/statements", { params: { query: { limit: 100 } } })));
  const action = useAction();
  const markPaid = (s: Schemas["Statement"]) =>
    action.run(async () => {
      await call(
        vhupay().POST("/v1/statements/{id}/mark-paid", {
          params: { path: { id: s.id }, header: { "Idempotency-Key": newIdempotencyKey() } },
        }),
      );
      statements.reload();
    });
  const list = statements.data?.data ?? [];
  return (
    <>
      {statements.error && <p class="error">{statements.error}</p>}
      {action.error && (
        <p class="error" id="statement-error">
          {action.error}
        </p>
      )}
      {statements.data && list.length === 0 && <p id="no-statements">Aucun relevé pour l'instant.</p>}
      {list.map((s) => (
        <div class="card statement" data-statement={s.id} data-status={s.status}>
          <h3>
            {month(s.month)} — {props.viewer === "buyer" ? (props.names[s.center_id] ?? s.center_id) : `Garage ${s.buyer_id}`}
          </h3>
          <p>
            Statut : <span class="status">{statementStatus[s.status]}</span> · Total TTC : <strong class="total">{euros(s.total)}</strong> (HT{" "}
            {euros(s.total_excl_vat)}, TVA {euros(s.total_vat)})
          </p>
          <ul>
            {s.orders.map((o) => (
              <li>
                Commande {o.order_id} : {euros(o.total)}
                {o.delivery_notes.length > 0 ? ` — ${o.delivery_notes.map((n) => `${n.kind} ${n.number}`).join(", ")}` : " — bon à venir"}
              </li>
            ))}
          </ul>
          <button class="export-csv secondary" onClick={() => action.run(() => download(s.id, "csv"))}>
            Export CSV
          </button>{" "}
          <button class="export-pdf secondary" onClick={() => action.run(() => download(s.id, "pdf"))}>
            Export PDF
          </button>{" "}
          {props.viewer === "center" && s.status === "issued" && (
            <button class="mark-paid" disabled={action.busy} onClick={() => markPaid(s)}>
              Marquer payé
            </button>
          )}
        </div>
      ))}
    </>
  );
}
