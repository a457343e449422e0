import { render } from "preact";
import { App } from "./app";
import { saveSession, sessionFromFragment } from "./session";
import "./style.css";

const fromFragment = sessionFromFragment();
if (fromFragment && typeof fromFragment !== "string") saveSession(fromFragment);

render(<App loginError={typeof fromFragment === "string" ? fromFragment : ""} />, document.getElementById("app")!);
