/**
 * The generated catalog, bundled into the Worker (no fs, no fetch). It is imported from the
 * generated .ts module, which holds catalog.json's text and JSON.parses it at load (faster to start
 * than the object literal a .json import becomes; see pricing/build.ts).
 */
export { catalog } from "../../pricing/generated/catalog";
