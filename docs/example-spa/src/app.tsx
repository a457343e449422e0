import type { ComponentChildren } from "preact";
import { Login } from "./pages/login";
import { Cart, Orders } from "./pages/orders";
import { Pay, PaymentReturn } from "./pages/pay";
import { MandateReturn, SEPA } from "./pages/sepa";
import { BuyerInvoicing, CenterApprovals, CenterOrders, CenterStatements } from "./pages/invoicing";
import { Link, navigate, Redirect, useLocation } from "./router";
import { loadSession, saveSession, type Session } from "./session";

const buyerNav: [string, string, string][] = [
  ["/panier", "nav-cart", "Panier"],
  ["/commandes", "nav-orders", "Mes commandes"],
  ["/prelevements", "nav-sepa", "Gestion des prélèvements"],
  ["/facturation", "nav-invoicing", "Facture fin de mois"],
];

const centerNav: [string, string, string][] = [
  ["/centre/facturation", "nav-approvals", "Demandes de facturation"],
  ["/centre/commandes", "nav-center-orders", "Commandes et bons"],
  ["/centre/releves", "nav-statements", "Relevés mensuels"],
];

export function App(props: { loginError: string }) {
  const { path, query } = useLocation();
  const session = loadSession();
  if (!session || path === "/connexion") {
    return <Login error={props.loginError} />;
  }
  if (session.role === "buyer") {
    return <Layout session={session} nav={buyerNav}>{buyerPage(path, query, session)}</Layout>;
  }
  if (session.role === "center") {
    return <Layout session={session} nav={centerNav}>{centerPage(path, session)}</Layout>;
  }
  return (
    <Layout session={session} nav={[]}>
      <p id="wrong-role">Ce front end est celui des garages et des centres VHU : connectez-vous avec leur jeton.</p>
    </Layout>
  );
}

function buyerPage(path: string, query: URLSearchParams, session: Session) {
  const pay = /^\/paiement\/(ord_[A-Za-z0-9]+)$/.exec(path);
  if (pay) return <Pay orderId={pay[1]!} />;
  switch (path) {
    case "/panier":
      return <Cart />;
    case "/paiement/retour":
      return <PaymentReturn intentId={query.get("payment_intent") ?? ""} />;
    case "/prelevements":
      return <SEPA />;
    case "/prelevements/mandat":
      return <MandateReturn mandateId={query.get("mandate_id") ?? ""} />;
    case "/facturation":
      return <BuyerInvoicing buyerId={session.org} />;
    case "/commandes":
      return <Orders />;
  }
  return <Redirect to="/commandes" />;
}

function centerPage(path: string, session: Session) {
  switch (path) {
    case "/centre/facturation":
      return <CenterApprovals />;
    case "/centre/commandes":
      return <CenterOrders />;
    case "/centre/releves":
      return <CenterStatements centerId={session.org} />;
  }
  return <Redirect to="/centre/facturation" />;
}

function Layout(props: { session: Session; nav: [string, string, string][]; children: ComponentChildren }) {
  const { path } = useLocation();
  const who = props.session.role === "buyer" ? "Garage" : props.session.role === "center" ? "Centre VHU" : props.session.role;
  return (
    <>
      <header>
        <div class="brand">
          Pièces Auto Occasion <small>démo vhupay</small>
        </div>
        <nav>
          {props.nav.map(([href, id, label]) => (
            <Link href={href} id={id} class={path.startsWith(href) ? "current" : ""}>
              {label}
            </Link>
          ))}
        </nav>
        <div class="who">
          <span id="whoami">
            {who} {props.session.org}
          </span>
          <button
            id="logout"
            class="link"
            onClick={() => {
              saveSession(null);
              navigate("/connexion");
            }}
          >
            Se déconnecter
          </button>
        </div>
      </header>
      <main>{props.children}</main>
    </>
  );
}
