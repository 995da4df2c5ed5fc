// Validates ServiceMonitor objects (JSON files given as arguments) with prometheus-operator's
// CRD schema, as compiled by kubernetes-models. Exits 1 and prints the errors on the first
// invalid object.
import { readFileSync } from "node:fs";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

let failed = false;
for (const file of process.argv.slice(2)) {
  const obj = JSON.parse(readFileSync(file, "utf8"));
  try {
    new ServiceMonitor(obj).validate();
    console.log(`ok ${file}`);
  } catch (e) {
    failed = true;
    console.log(`invalid ${file}: ${e.message}\n${JSON.stringify(e.details ?? e.errors ?? "", null, 1)}`);
  }
}
process.exit(failed ? 1 : 0);
