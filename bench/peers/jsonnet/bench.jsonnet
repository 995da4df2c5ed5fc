// KumoMTA policy data (sources, pools, DKIM, queues, shaping) from the records in
// data.libsonnet, written by bench/gen.py. Jsonnet has no types: the records are plain
// objects and nothing checks their fields. The records are arrays with a `name` field:
// looking up computed field names of a large object is much slower in C++ jsonnet.
local data = import 'data.libsonnet';
{
  source: {
    [s.name]: { ehlo_domain: s.ehlo_domain, source_address: s.source_address }
    for s in data.sources
  },
  pool: { main: { [s.name]: { weight: 1 } for s in data.sources } },
  dkim: {
    domain: {
      [d.name]: {
        selector: d.dkim.selector,
        headers: d.dkim.headers,
        filename: '/opt/kumomta/etc/dkim/' + d.dkim.key + '/' + d.name + '.' + d.dkim.selector + '.key',
      }
      for d in data.domains
    },
  },
  queue: { [d.name]: d.queue for d in data.domains },
  shaping: { [d.name]: d.shaping for d in data.domains },
}
