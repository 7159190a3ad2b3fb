// node-forge's own modules, imported one by one (./forge-asn1.ts); @types/node-forge types the package's index only.
declare module "node-forge/lib/asn1.js" {
  const asn1: unknown;
  export default asn1;
}
declare module "node-forge/lib/util.js" {
  const util: unknown;
  export default util;
}
