-- KumoMTA policy data (sources, pools, DKIM, queues, shaping) from the typed records in
-- data.dhall (written by bench/gen.py). Lists of { mapKey, mapValue } become JSON objects.
let Source = { name : Text, ehlo_domain : Text, source_address : Text }

let Dkim = { selector : Text, headers : List Text, key : Text }

let Queue = { egress_pool : Text, max_age : Text }

let Shaping = { mx_rollup : Bool, max_message_rate : Text }

let Domain = { name : Text, dkim : Dkim, queue : Queue, shaping : Shaping }

let Entry = \(v : Type) -> { mapKey : Text, mapValue : v }

let map =
      \(a : Type) ->
      \(b : Type) ->
      \(f : a -> b) ->
      \(xs : List a) ->
        List/fold a xs (List b) (\(x : a) -> \(acc : List b) -> [ f x ] # acc) ([] : List b)

let data
    : { sources : List Source, domains : List Domain }
    = ./data.dhall

let DkimOut = { selector : Text, headers : List Text, filename : Text }

in  { source =
        map
          Source
          (Entry { ehlo_domain : Text, source_address : Text })
          (\(s : Source) -> { mapKey = s.name, mapValue = s.{ ehlo_domain, source_address } })
          data.sources
    , pool.main
      =
        map
          Source
          (Entry { weight : Natural })
          (\(s : Source) -> { mapKey = s.name, mapValue.weight = 1 })
          data.sources
    , dkim.domain
      =
        map
          Domain
          (Entry DkimOut)
          ( \(d : Domain) ->
              { mapKey = d.name
              , mapValue =
                { selector = d.dkim.selector
                , headers = d.dkim.headers
                , filename = "/opt/kumomta/etc/dkim/${d.dkim.key}/${d.name}.${d.dkim.selector}.key"
                }
              }
          )
          data.domains
    , queue =
        map
          Domain
          (Entry Queue)
          (\(d : Domain) -> { mapKey = d.name, mapValue = d.queue })
          data.domains
    , shaping =
        map
          Domain
          (Entry Shaping)
          (\(d : Domain) -> { mapKey = d.name, mapValue = d.shaping })
          data.domains
    }
