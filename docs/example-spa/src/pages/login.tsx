import { useState } from "preact/hooks";
import { navigate } from "../router";
import { loadSession, makeSession, saveSession } from "../session";

export function Login(props: { error: string }) {
  const [api, setApi] = useState(loadSession()?.api ?? "http://127.0.0.1:8080");
  const [token, setToken] = useState("");
  const [error, setError] = useState(props.error);
  return (
    <main class="narrow">
      <h1>Connexion</h1>
      <p>
        Collez le jeton d'un garage ou d'un centre VHU (<code>vhupay demo</code> en affiche, ou{" "}
        <code>vhupay token --role buyer --org byr_…</code>).
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const s = makeSession(api, token);
          if (typeof s === "string") {
            setError(s);
            return;
          }
          saveSession(s);
          navigate("/");
        }}
      >
        <label>
          Adresse de l'API vhupay
          <input id="api-url" value={api} onInput={(e) => setApi(e.currentTarget.value)} required />
        </label>
        <label>
          Jeton
          <textarea id="token" rows={4} value={token} onInput={(e) => setToken(e.currentTarget.value)} required />
        </label>
        <button id="login" type="submit">
          Se connecter
        </button>
        {error && (
          <p class="error" id="login-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
