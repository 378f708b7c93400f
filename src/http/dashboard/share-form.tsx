/** The admin's form on the overview that makes a share link for a tenant (share.tsx answers it). */
import { SHARE_LINK_DEFAULT_HOURS, SHARE_LINK_MAX_HOURS } from "../../share-links";
import type { View } from "./env";
import { AccountField, Csrf } from "./layout";

export function ShareForm(props: { view: View; tenant?: string }) {
  return (
    <form method="post" action="/dashboard/share-links" class="panel" aria-label="Share a tenant's page">
      <h2>Share a tenant's page</h2>
      <p class="small muted">
        A signed link to one tenant's usage and budgets, read-only, that stops working after the hours you set (at most{" "}
        {SHARE_LINK_MAX_HOURS}).
      </p>
      <Csrf view={props.view} />
      <AccountField view={props.view} />
      <fieldset>
        <label>
          Tenant
          <input name="tenant" value={props.tenant ?? ""} required size={14} />
        </label>
        <label>
          Hours
          <input name="expiresInHours" value={String(SHARE_LINK_DEFAULT_HOURS)} size={5} />
        </label>
        <button type="submit" class="primary">
          Make link
        </button>
      </fieldset>
    </form>
  );
}
