/** The admin's account picker: every account (a GET link each), and how to make the first one. */
import { listAccounts } from "../../accounts";
import type { DashContext } from "./env";
import { Page, Time } from "./layout";

export async function accountsPage(c: DashContext, tz: string) {
  const accounts = await listAccounts(c.var.db);
  const origin = new URL(c.req.url).origin;
  return c.html(
    <Page title="Accounts" view={null} tz={tz} tzSource="url">
      <h1>Pick an account</h1>
      {accounts.length ? (
        <div class="panel scroll">
          <table class="data accounts">
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Id</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {accounts.map((a) => (
                <tr data-account={a.id}>
                  <th scope="row">
                    <a href={`/dashboard?account=${encodeURIComponent(a.id)}`}>{a.name}</a>
                  </th>
                  <td>
                    <code>{a.id}</code>
                  </td>
                  <td>
                    <Time ms={a.createdAt.getTime()} tz={tz} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div class="panel">
          <p>No accounts yet. Create one with the admin API:</p>
          <pre>{`curl -s -XPOST ${origin}/admin/v1/accounts -H "authorization: Bearer $TOLLGATE_ADMIN_TOKEN" \\
  -H 'content-type: application/json' -d '{"name":"Acme"}'`}</pre>
        </div>
      )}
      <form method="post" action="/dashboard/logout">
        <input type="hidden" name="_csrf" value={c.var.view.csrf ?? ""} />
        <button type="submit">Sign out</button>
      </form>
    </Page>,
  );
}
