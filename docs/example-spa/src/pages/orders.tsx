import { useState } from "preact/hooks";
import { call, newIdempotencyKey, vhupay, type Schemas } from "../api";
import { date, euros, intentStatus, methodLabel, orderStatus } from "../format";
import { useAction, useLoad } from "../hooks";
import { navigate } from "../router";

/** The demo catalogue: what a garage might put in its cart. Prices excluding VAT, in cents. */
const catalogue = [
  { reference: "PHARE-AV-G-208", label: "Phare avant gauche Peugeot 208", price: 12000 },
  { reference: "RETRO-D-CLIO4", label: "Rétroviseur droit Renault Clio IV", price: 4500 },
  { reference: "BOITE-208", label: "Boîte de vitesses Peugeot 208", price: 65000 },
];

/** vatIncluded adds 20 % VAT to a line, rounded half up to the cent, as vhupay does. */
function vatIncluded(cents: number): number {
  return cents + Math.floor((cents * 2000 + 5000) / 10000);
}

/** Cart is the garage's cart for one centre; validating it creates the order, to be paid. */
export function Cart() {
  const centers = useLoad(() => call(vhupay().GET("/v1/centers", { params: { query: { limit: 100 } } })));
  const [center, setCenter] = useState("");
  const [delivery, setDelivery] = useState<"delivery" | "pickup">("delivery");
  const [qty, setQty] = useState<Record<string, number>>({ [catalogue[0]!.reference]: 1 });
  const action = useAction();
  const chosen = center || centers.data?.data[0]?.id || "";
  const lines = catalogue.filter((p) => (qty[p.reference] ?? 0) > 0);
  const total = lines.reduce((sum, p) => sum + vatIncluded(p.price * (qty[p.reference] ?? 0)), 0);

  const validate = () =>
    action.run(async () => {
      const order = await call(
        vhupay().POST("/v1/orders", {
          params: { header: { "Idempotency-Key": newIdempotencyKey() } },
          body: {
            center_id: chosen,
            delivery_mode: delivery,
            lines: lines.map((p) => ({ reference: p.reference, label: p.label, quantity: qty[p.reference]!, unit_price_excl_vat: p.price })),
          },
        }),
      );
      navigate(`/paiement/${order.id}`);
    });

  return (
    <section>
      <h1>Mon panier</h1>
      {centers.error && <p class="error">{centers.error}</p>}
      <label>
        Centre VHU vendeur
        <select id="cart-center" value={chosen} onChange={(e) => setCenter(e.currentTarget.value)}>
          {centers.data?.data.map((c) => (
            <option value={c.id}>{c.name}</option>
          ))}
        </select>
      </label>
      <table>
        <thead>
          <tr>
            <th>Pièce</th>
            <th>Prix HT</th>
            <th>Quantité</th>
          </tr>
        </thead>
        <tbody>
          {catalogue.map((p) => (
            <tr>
              <td>{p.label}</td>
              <td class="amount">{euros(p.price)}</td>
              <td>
                <input
                  id={`qty-${p.reference}`}
                  type="number"
                  min={0}
                  max={1000}
                  value={qty[p.reference] ?? 0}
                  onInput={(e) => setQty({ ...qty, [p.reference]: Number(e.currentTarget.value) })}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <label>
        Mode de remise
        <select id="cart-delivery" value={delivery} onChange={(e) => setDelivery(e.currentTarget.value as "delivery" | "pickup")}>
          <option value="delivery">Livraison</option>
          <option value="pickup">Retrait au centre</option>
        </select>
      </label>
      <p>
        Total TTC : <strong id="cart-total">{euros(total)}</strong>
      </p>
      <button id="validate-cart" disabled={action.busy || !chosen || lines.length === 0} onClick={validate}>
        Valider le panier et payer
      </button>
      {action.error && <p class="error">{action.error}</p>}
    </section>
  );
}

/** Orders is « Mes commandes »: newest first, with what can be done on each. */
export function Orders() {
  const orders = useLoad(() => call(vhupay().GET("/v1/orders", { params: { query: { limit: 100 } } })));
  const action = useAction();
  const remove = (o: Schemas["Order"]) =>
    action.run(async () => {
      await call(vhupay().DELETE("/v1/orders/{id}", { params: { path: { id: o.id } } }));
      orders.reload();
    });
  return (
    <section>
      <h1>Mes commandes</h1>
      {orders.error && <p class="error">{orders.error}</p>}
      {action.error && <p class="error">{action.error}</p>}
      {orders.data && orders.data.data.length === 0 && <p>Aucune commande. Remplissez votre panier.</p>}
      <table id="orders">
        <tbody>
          {orders.data?.data.map((o) => (
            <tr data-order={o.id} data-status={o.status}>
              <td>{date(o.created_at)}</td>
              <td>{o.lines.map((l) => l.label).join(", ")}</td>
              <td class="amount">{euros(o.total)}</td>
              <td>
                {orderStatus[o.status]}
                {o.payment && (
                  <small>
                    <br />
                    {methodLabel[o.payment.method]} : {intentStatus[o.payment.status]}
                  </small>
                )}
              </td>
              <td>
                {o.status === "payment_pending" && (
                  <>
                    <button class="pay" onClick={() => navigate(`/paiement/${o.id}`)}>
                      Accéder au paiement
                    </button>{" "}
                    <button class="delete secondary" disabled={action.busy} onClick={() => remove(o)}>
                      Supprimer la commande
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
