-- kumo_stub.lua: a faithful stub of KumoMTA's Lua runtime API, for testing the policies
-- that kumoc emits. It runs in a real Lua 5.4 (mlua, vendored) and is driven by
-- tests/it/lua_harness.rs, which installs the `__rust` helper table before loading this file.
--
-- What it does:
--   * provides `kumo` (require 'kumo' and the global), `tsa` (tsa-daemon only) and the
--     helpers policy-extras.{sources,dkim_sign,shaping,queue} with the setup signatures and
--     behaviour of the real helpers;
--   * records every call (name, deep-copied arguments, and the event it was made from);
--   * REJECTS what KumoMTA rejects: unknown functions, unknown/misspelled parameter names
--     (serde `deny_unknown_fields`), wrong types, bad durations / ThrottleSpecs / LimitSpecs /
--     CIDRs, options that do not exist yet in the target release, Single events registered
--     twice, kumo.on inside a handler, ...
--   * where KumoMTA silently IGNORES unknown keys (RedisConnKey, SignerConfig, MemoizeParams
--     before 2025.05.06) the stub accepts them too and adds a warning (see STUB.warnings).
--
-- The facts encoded here come from shared/reference/kumomta.md and KumoMTA's source
-- (KumoCorp/kumomta). Version gates use `since('YYYY.MM.DD')` against the target release.

local R = assert(__rust, 'the kumoc Lua harness must install __rust before loading the stub')
__rust = nil

local STUB = {
  version = R.version, -- 'YYYY.MM.DD'
  version_full = R.version_full,
  mode = R.mode, -- 'kumod' | 'tsa'
  calls = {},
  handlers = {}, -- name -> function (Single) | list of functions (Multiple)
  registrations = {}, -- ordered list of { name = , owner = }
  warnings = {},
  output = {}, -- print() and kumo.log_* output
  current_event = nil,
  owner = nil, -- which helper is registering handlers right now
  validating = false,
  validation_failed = false,
  spools = {},
  mx = {}, -- fake DNS: domain -> { site = , hosts = {} }
  env = R.env or {},
  init_fired = false,
  last_message = nil,
  last_rejection = nil,
  monitor_globs = nil,
  tsa_db_path = nil,
  tsa_listener_started = false,
  redis_configured = false,
  next_message_id = 1,
}
__kumo_stub = STUB

local DEV = '9999.99.99' -- "dev builds only": never in a release

local function since(v)
  return STUB.version >= v
end

local function warn(msg)
  table.insert(STUB.warnings, msg)
end

---------------------------------------------------------------------------------------------
-- Generic helpers
---------------------------------------------------------------------------------------------

local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= 'integer' or k < 1 then
      return false
    end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then
      return false
    end
  end
  return true -- an empty table is both an empty array and an empty map
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    table.insert(keys, k)
  end
  table.sort(keys, function(a, b)
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function backticked(list)
  local out = {}
  for _, v in ipairs(list) do
    table.insert(out, '`' .. tostring(v) .. '`')
  end
  return table.concat(out, ', ')
end

local MSG_MT -- forward: message metatable

local function deepcopy(v, seen)
  if type(v) ~= 'table' then
    return v
  end
  local mt = getmetatable(v)
  if mt == MSG_MT then
    return '<message>'
  end
  if mt and mt.__stub_repr then
    return mt.__stub_repr(v)
  end
  seen = seen or {}
  if seen[v] then
    return seen[v]
  end
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do
    out[deepcopy(k, seen)] = deepcopy(x, seen)
  end
  return out
end

local function record(name, ...)
  local n = select('#', ...)
  local args = {}
  for i = 1, n do
    args[i] = deepcopy((select(i, ...)))
  end
  table.insert(STUB.calls, {
    name = name,
    args = args,
    n = n,
    ctx = STUB.current_event or 'top-level',
  })
end

local function merge_into(src, dest)
  if src then
    for k, v in pairs(src) do
      dest[k] = v
    end
  end
end

local function recursive_merge_into(src, dest)
  for k, v in pairs(src) do
    if type(v) == 'table' and type(dest[k]) == 'table' then
      recursive_merge_into(v, dest[k])
    else
      dest[k] = v
    end
  end
end

local function starts_with(s, p)
  return string.sub(s, 1, #p) == p
end

local function ends_with(s, p)
  return #p == 0 or string.sub(s, -#p) == p
end

-- Render a value the way serde's `Unexpected` does in "invalid type" errors.
local function fmt_value(v)
  local t = type(v)
  if t == 'string' then
    return string.format('string "%s"', v)
  elseif t == 'boolean' then
    return string.format('boolean `%s`', tostring(v))
  elseif t == 'number' then
    if math.type(v) == 'integer' then
      return string.format('integer `%d`', v)
    end
    return string.format('floating point `%s`', tostring(v))
  elseif t == 'table' then
    if next(v) ~= nil and is_array(v) then
      return 'sequence'
    end
    return 'map'
  elseif t == 'nil' then
    return 'unit value'
  end
  return t
end

local function invalid_type(v, expected)
  return string.format('invalid type: %s, expected %s', fmt_value(v), expected)
end

---------------------------------------------------------------------------------------------
-- Type validators. A validator is `function(value) -> nil | error string`.
-- A record field definition is either a validator or
-- `{ validator, required = bool, since = 'YYYY.MM.DD', note = '...' }`.
---------------------------------------------------------------------------------------------

local T = {}

T.any = function() end

T.string = function(v)
  if type(v) ~= 'string' then
    return invalid_type(v, 'a string')
  end
end

T.bool = function(v)
  if type(v) ~= 'boolean' then
    return invalid_type(v, 'a boolean')
  end
end

local function uint(name, max)
  return function(v)
    if math.type(v) ~= 'integer' then
      return invalid_type(v, name)
    end
    if v < 0 or (max and v > max) then
      return string.format('invalid value: integer `%d`, expected %s', v, name)
    end
  end
end
T.usize = uint 'usize'
T.u64 = uint 'u64'
T.u32 = uint('u32', 4294967295)
T.u16 = uint('u16', 65535)
T.u8 = uint('u8', 255)
T.i32 = function(v)
  if math.type(v) ~= 'integer' then
    return invalid_type(v, 'i32')
  end
  if v < -2147483648 or v > 2147483647 then
    return string.format('invalid value: integer `%d`, expected i32', v)
  end
end
T.f64 = function(v)
  if type(v) ~= 'number' then
    return invalid_type(v, 'f64')
  end
end

-- duration_serde: an integer >= 0 (seconds), a float (fractional seconds), or a humantime
-- string (parsed with the humantime of the target release).
T.duration = function(v)
  if math.type(v) == 'integer' then
    if v < 0 then
      return string.format('invalid value: integer `%d`, expected a duration', v)
    end
    return
  end
  if type(v) == 'number' then
    if v ~= v or v < 0 then
      return string.format('invalid value: floating point `%s`, expected a duration', v)
    end
    return
  end
  if type(v) == 'string' then
    local ok, err = R.duration(v)
    if not ok then
      return string.format('invalid duration "%s": %s', v, err)
    end
    return
  end
  return invalid_type(v, 'a duration string like "5m" or a number of seconds')
end

-- ThrottleSpec: a string only.
T.rate = function(v)
  if type(v) ~= 'string' then
    return invalid_type(v, 'a string')
  end
  local ok, err = R.rate(v)
  if not ok then
    return string.format('invalid ThrottleSpec "%s": %s', v, err)
  end
end

-- LimitSpec: an integer >= 1 or a "[local:]N" string.
T.limit = function(v)
  if math.type(v) == 'integer' then
    if v < 1 then
      return string.format('invalid LimitSpec `%d`: limit must be greater than 0!', v)
    end
    return
  end
  if type(v) == 'string' then
    local ok, err = R.limit(v)
    if not ok then
      return string.format('invalid LimitSpec "%s": %s', v, err)
    end
    return
  end
  return invalid_type(v, 'a LimitSpec (an integer or a "[local:]N" string)')
end

T.ip = function(v)
  if type(v) ~= 'string' then
    return invalid_type(v, 'an IP address string')
  end
  local ok, err = R.ip(v)
  if not ok then
    return string.format('invalid IP address syntax "%s": %s', v, err)
  end
end

T.cidr = function(v)
  if type(v) ~= 'string' then
    return invalid_type(v, 'an IP or CIDR string')
  end
  local ok, err = R.cidr(v)
  if not ok then
    return string.format('invalid CIDR "%s": %s', v, err)
  end
end

T.cidr_list = function(v)
  if type(v) ~= 'table' or not is_array(v) then
    return invalid_type(v, 'a sequence of IP/CIDR strings')
  end
  for i, x in ipairs(v) do
    local e = T.cidr(x)
    if e then
      return string.format('[%d]: %s', i, e)
    end
  end
end

-- std::net::SocketAddr: "IPv4:port" or "[IPv6]:port"; no host names.
T.socket_addr = function(v)
  if type(v) ~= 'string' then
    return invalid_type(v, 'a socket address string')
  end
  local host, port = v:match '^%[(.+)%]:(%d+)$'
  if not host then
    host, port = v:match '^([^:]+):(%d+)$'
  end
  if not host or not R.ip(host) or tonumber(port) > 65535 then
    return string.format('invalid socket address syntax "%s"', v)
  end
end

-- MinFree (spool/log min_free_space, min_free_inodes): "N%" or an integer.
T.min_free = function(v)
  if math.type(v) == 'integer' and v >= 0 then
    return
  end
  if type(v) == 'string' then
    local n = v:match '^(%d+)%%$'
    if n and tonumber(n) <= 100 then
      return
    end
    return string.format('invalid value "%s": expected "N%%" or a number', v)
  end
  return invalid_type(v, 'a percentage string like "10%" or a number')
end

function T.enum(name, variants)
  local set, names = {}, {}
  for _, x in ipairs(variants) do
    if type(x) == 'table' then
      set[x[1]] = x.since or true
      table.insert(names, x[1])
    else
      set[x] = true
      table.insert(names, x)
    end
  end
  return function(v)
    if type(v) ~= 'string' then
      return invalid_type(v, 'enum ' .. name)
    end
    local ok = set[v]
    if ok == nil then
      return string.format(
        'unknown variant `%s`, expected one of %s',
        v,
        backticked(names)
      )
    end
    if type(ok) == 'string' and not since(ok) then
      return string.format(
        'unknown variant `%s` (%s `%s` exists only since KumoMTA %s; the target is %s)',
        v,
        name,
        v,
        ok,
        STUB.version_full
      )
    end
  end
end

function T.list(inner)
  return function(v)
    if type(v) ~= 'table' or not is_array(v) then
      return invalid_type(v, 'a sequence')
    end
    for i, x in ipairs(v) do
      local e = inner(x)
      if e then
        return string.format('[%d]: %s', i, e)
      end
    end
  end
end

function T.map(inner, key_check)
  return function(v)
    if type(v) ~= 'table' or (next(v) ~= nil and is_array(v)) then
      return invalid_type(v, 'a map')
    end
    for _, k in ipairs(sorted_keys(v)) do
      if type(k) ~= 'string' then
        return invalid_type(k, 'a string key')
      end
      if key_check then
        local e = key_check(k)
        if e then
          return string.format('key "%s": %s', k, e)
        end
      end
      local e = inner(v[k])
      if e then
        return string.format('["%s"]: %s', k, e)
      end
    end
  end
end

function T.one_of(...)
  local alts = { ... }
  return function(v)
    local errs = {}
    for _, alt in ipairs(alts) do
      local e = alt(v)
      if not e then
        return
      end
      table.insert(errs, e)
    end
    return table.concat(errs, '; or ')
  end
end

local function norm_field(def)
  if type(def) == 'function' then
    return { check = def }
  end
  return {
    check = def[1],
    required = def.required,
    since = def.since,
    note = def.note,
  }
end

-- A struct. opts.ignore_unknown: serde WITHOUT deny_unknown_fields (unknown keys are
-- accepted and dropped; the stub warns). opts.context names the function for warnings.
function T.record(name, fields, opts)
  opts = opts or {}
  local defs = {}
  for k, def in pairs(fields) do
    defs[k] = norm_field(def)
  end
  local function expected()
    local names = {}
    for k, d in pairs(defs) do
      if not d.since or since(d.since) then
        table.insert(names, k)
      end
    end
    table.sort(names)
    return backticked(names)
  end
  return function(v)
    if type(v) ~= 'table' or (next(v) ~= nil and is_array(v)) then
      return invalid_type(v, 'struct ' .. name)
    end
    for _, k in ipairs(sorted_keys(v)) do
      if type(k) ~= 'string' then
        return invalid_type(k, 'a field name')
      end
      local d = defs[k]
      local too_new = d and d.since and not since(d.since)
      if not d or too_new then
        local msg
        if too_new then
          msg = string.format(
            'unknown field `%s` (it exists only since KumoMTA %s; the target is %s), expected one of %s',
            k,
            d.since == DEV and 'dev builds' or d.since,
            STUB.version_full,
            expected()
          )
        else
          msg = string.format('unknown field `%s`, expected one of %s', k, expected())
        end
        if opts.ignore_unknown then
          warn(
            string.format(
              '%s: %s (KumoMTA silently ignores it)',
              opts.context or name,
              msg
            )
          )
        else
          return msg
        end
      else
        local e = d.check(v[k])
        if e then
          return string.format('field `%s`: %s', k, e)
        end
      end
    end
    for _, k in ipairs(sorted_keys(defs)) do
      local d = defs[k]
      if d.required and v[k] == nil then
        return string.format('missing field `%s`', k)
      end
    end
  end
end

-- Validate `params` and raise a serde-like error naming the function and the field.
local function check_params(fn_name, params, validator, level)
  local e = validator(params)
  if e then
    error(string.format('%s: %s', fn_name, e), level or 3)
  end
end

---------------------------------------------------------------------------------------------
-- Parameter structs
---------------------------------------------------------------------------------------------

local KEYSOURCE = function(v)
  if type(v) == 'string' then
    return
  end
  if type(v) == 'table' and not is_array(v) then
    if v.key_data ~= nil then
      return T.record('KeySource', { key_data = { T.string, required = true } })(v)
    end
    if v.vault_mount ~= nil or v.vault_path ~= nil then
      return T.record('KeySource', {
        vault_mount = { T.string, required = true },
        vault_path = { T.string, required = true },
        vault_address = T.string,
        vault_token = T.string,
        vault_key = { T.string, since = '2025.10.06' },
      })(v)
    end
  end
  return 'data did not match any variant of untagged enum KeySource'
end

local TLS = T.enum('Tls', {
  'Opportunistic',
  'OpportunisticInsecure',
  'Required',
  'RequiredInsecure',
  'Disabled',
})
local REFRESH_STRATEGY = T.enum('ConfigRefreshStrategy', { 'Ttl', 'Epoch' })
local MEMORY_REDUCTION = T.enum('MemoryReductionPolicy', { 'ShrinkDataAndMeta', 'ShrinkData', 'NoShrink' })
local WAKEUP = T.enum('WakeupStrategy', { 'Aggressive', 'Relaxed' })

-- EgressPathConfig (kumo.make_egress_path, shaping blocks). deny_unknown_fields.
local EGRESS_PATH_FIELDS = {
  connection_limit = T.limit,
  additional_connection_limits = T.map(T.limit),
  max_connection_rate = T.rate,
  max_deliveries_per_connection = T.usize,
  max_message_rate = T.rate,
  additional_message_rate_throttles = T.map(T.rate),
  source_selection_rate = { T.rate, since = '2025.03.19' },
  additional_source_selection_rates = { T.map(T.rate), since = '2025.03.19' },
  max_recipients_per_batch = T.usize,
  max_ready = T.usize,
  enable_tls = TLS,
  enable_mta_sts = T.bool,
  enable_dane = T.bool,
  enable_pipelining = { T.bool, since = '2025.01.23' },
  enable_rset = { T.bool, since = '2025.01.23' },
  tls_prefer_openssl = T.bool,
  tls_certificate = KEYSOURCE,
  tls_private_key = KEYSOURCE,
  openssl_cipher_list = T.string,
  openssl_cipher_suites = T.string,
  openssl_options = T.string,
  rustls_cipher_suites = T.list(T.string),
  connect_timeout = T.duration,
  banner_timeout = T.duration,
  ehlo_timeout = T.duration,
  mail_from_timeout = T.duration,
  rcpt_to_timeout = T.duration,
  data_timeout = T.duration,
  data_dot_timeout = T.duration,
  rset_timeout = T.duration,
  idle_timeout = T.duration,
  starttls_timeout = T.duration,
  auth_timeout = T.duration,
  system_shutdown_timeout = { T.duration, since = '2025.05.06' },
  consecutive_connection_failures_before_delay = T.usize,
  smtp_port = T.u16,
  smtp_auth_plain_username = T.string,
  smtp_auth_plain_password = KEYSOURCE,
  allow_smtp_auth_plain_without_tls = T.bool,
  allow_smtp_auth_plain_without_valid_certificate = { T.bool, since = DEV },
  prohibited_hosts = T.cidr_list,
  skip_hosts = T.cidr_list,
  ip_lookup_strategy = T.enum('IpLookupStrategy', {
    'Ipv4Only',
    'Ipv6Only',
    'Ipv4AndIpv6',
    'Ipv6ThenIpv4',
    'Ipv4ThenIpv6',
  }),
  ehlo_domain = T.string,
  aggressive_connection_opening = T.bool,
  refresh_interval = T.duration,
  refresh_strategy = REFRESH_STRATEGY,
  dispatcher_wakeup_strategy = { WAKEUP, since = '2025.05.06' },
  maintainer_wakeup_strategy = { WAKEUP, since = '2025.05.06' },
  provider_name = T.string,
  remember_broken_tls = T.duration,
  opportunistic_tls_reconnect_on_failed_handshake = { T.bool, since = '2025.01.23' },
  use_lmtp = { T.bool, since = '2025.01.23' },
  reconnect_strategy = {
    T.enum('ReconnectStrategy', { 'TerminateSession', 'ReconnectSameHost', 'ConnectNextHost' }),
    since = '2025.01.29',
  },
  readyq_pool_name = T.string,
  low_memory_reduction_policy = { MEMORY_REDUCTION, since = '2025.03.19' },
  no_memory_reduction_policy = { MEMORY_REDUCTION, since = '2025.03.19' },
  try_next_host_on_transport_error = T.bool,
  ignore_8bit_checks = T.bool,
  dispatcher_progress_watchdog_timeout = { T.duration, since = DEV },
}
local EGRESS_PATH = T.record('EgressPathConfig', EGRESS_PATH_FIELDS)

-- Validate one EgressPathConfig field alone (used for shaping SetConfig actions).
local function egress_path_field(name, value)
  return EGRESS_PATH { [name] = value }
end

local SHRINK_POLICY = T.record('QueueShrinkPolicy', {
  interval = { T.duration, required = true },
  policy = { MEMORY_REDUCTION, required = true },
})

-- DeliveryProto (untagged): {smtp={mx_list=...}}, {maildir_path=...}, {custom_lua={constructor=...}}
local PROTOCOL = function(v)
  if type(v) ~= 'table' or is_array(v) then
    return invalid_type(v, 'enum DeliveryProto')
  end
  local variants = {
    T.record('DeliveryProto::Smtp', {
      smtp = {
        T.record('SmtpProtocol', {
          mx_list = T.list(T.one_of(T.string, T.map(T.any))),
          treat_mx_list_as_secure = { T.bool, since = DEV },
        }),
        required = true,
      },
    }),
    T.record('DeliveryProto::Maildir', {
      maildir_path = { T.string, required = true },
      dir_mode = { T.u32, since = '2025.01.23' },
      file_mode = { T.u32, since = '2025.01.23' },
    }),
    T.record('DeliveryProto::Lua', {
      custom_lua = {
        T.record('LuaDeliveryProtocol', { constructor = { T.string, required = true } }),
        required = true,
      },
    }),
  }
  local errs = {}
  for _, alt in ipairs(variants) do
    local e = alt(v)
    if not e then
      return
    end
    table.insert(errs, e)
  end
  return 'data did not match any variant of untagged enum DeliveryProto ('
    .. table.concat(errs, '; ')
    .. ')'
end

-- QueueConfig (kumo.make_queue_config). deny_unknown_fields.
local QUEUE_CONFIG_FIELDS = {
  retry_interval = T.duration,
  max_retry_interval = T.duration,
  max_age = T.duration,
  egress_pool = T.string,
  max_message_rate = T.rate,
  protocol = PROTOCOL,
  reap_interval = T.duration,
  refresh_interval = T.duration,
  timerwheel_tick_interval = T.duration,
  strategy = T.enum('QueueStrategy', {
    'TimerWheel',
    'SkipList',
    'SingletonTimerWheel',
    'SingletonTimerWheelV2',
  }),
  refresh_strategy = REFRESH_STRATEGY,
  provider_name = T.string,
  shrink_policy = { T.list(SHRINK_POLICY), since = '2025.03.19' },
}
local QUEUE_CONFIG = T.record('QueueConfig', QUEUE_CONFIG_FIELDS)

-- EgressSource (kumo.make_egress_source). deny_unknown_fields.
local EGRESS_SOURCE = T.record('EgressSource', {
  name = { T.string, required = true },
  source_address = T.ip,
  ehlo_domain = T.string,
  remote_port = T.u16,
  ha_proxy_server = T.socket_addr,
  ha_proxy_source_address = T.ip,
  socks5_proxy_server = T.socket_addr,
  socks5_proxy_source_address = T.ip,
  socks5_proxy_username = T.string,
  socks5_proxy_password = KEYSOURCE,
  suspend_when_unplumbed = { T.any, since = DEV },
  suspend_when_proxy_unhealthy = { T.any, since = DEV },
  ttl = T.duration,
})

local EGRESS_POOL = T.record('EgressPool', {
  name = { T.string, required = true },
  entries = T.list(T.record('EgressPoolEntry', {
    name = { T.string, required = true },
    weight = T.u32,
  })),
  ttl = T.duration,
})

local TRACE_HEADERS = T.record('TraceHeaders', {
  received_header = T.bool,
  supplemental_header = T.bool,
  header_name = T.string,
  include_meta_names = T.list(T.string),
})

local CONFORMANCE_DISPOSITION = T.enum('ConformanceDisposition', { 'Deny', 'Allow', 'Fix' })

-- The per-connection part of EsmtpListenerParams (also allowed inside peer/via blocks).
local GENERIC_ESMTP_FIELDS = {
  hostname = T.string,
  relay_hosts = T.cidr_list,
  banner = T.string,
  tls_certificate = KEYSOURCE,
  tls_private_key = KEYSOURCE,
  tls_required_client_ca = { KEYSOURCE, since = '2025.10.06' },
  deferred_spool = T.bool,
  deferred_queue = T.bool,
  trace_headers = TRACE_HEADERS,
  client_timeout = T.duration,
  data_processing_timeout = { T.duration, since = '2025.03.19' },
  max_messages_per_connection = T.usize,
  max_recipients_per_message = T.usize,
  max_message_size = T.usize,
  data_buffer_size = T.usize,
  invalid_line_endings = CONFORMANCE_DISPOSITION,
  line_length_hard_limit = T.usize,
  batch_handling = {
    T.enum('BatchHandling', { 'BifurcateAlways', 'BatchByDomain' }),
    since = '2025.12.02',
  },
  allow_xclient = { T.bool, since = '2025.10.06' },
  require_proxy_protocol = { T.bool, since = '2025.12.02' },
  meta = { T.map(T.any), since = '2025.05.06' },
}
local GENERIC_ESMTP = T.record('GenericEsmtpListenerParams', GENERIC_ESMTP_FIELDS)
local ESMTP_LISTENER_FIELDS = {
  listen = T.string,
  max_connections = T.usize,
  peer = { T.map(GENERIC_ESMTP, T.cidr), since = '2025.05.06' },
  via = { T.map(GENERIC_ESMTP, T.cidr), since = '2025.05.06' },
}
merge_into(GENERIC_ESMTP_FIELDS, ESMTP_LISTENER_FIELDS)
local ESMTP_LISTENER = T.record('EsmtpListenerParams', ESMTP_LISTENER_FIELDS)

local HTTP_LISTENER = T.record('HttpListenerParams', {
  hostname = T.string,
  listen = T.string,
  use_tls = T.bool,
  request_body_limit = { T.usize, since = '2024.06.10' },
  tls_certificate = KEYSOURCE,
  tls_private_key = KEYSOURCE,
  trusted_hosts = T.cidr_list,
})

local DEFINE_SPOOL = T.record('DefineSpoolParams', {
  name = { T.string, required = true },
  path = { T.string, required = true },
  kind = T.enum('SpoolKind', { 'LocalDisk', 'RocksDB' }),
  flush = T.bool,
  rocks_params = T.map(T.any),
  min_free_space = { T.min_free, since = '2024.09.02' },
  min_free_inodes = { T.min_free, since = '2024.09.02' },
})

local RECORD_TYPES = {
  'Reception',
  'Delivery',
  'Bounce',
  'TransientFailure',
  'Expiration',
  'AdminBounce',
  'OOB',
  'Feedback',
  'Rejection',
  'AdminRebind',
  'DeferredInjectionRebind',
  'Delayed',
  { 'XferOut', since = '2025.10.06' },
  { 'XferIn', since = '2025.10.06' },
  'Any',
}
local RECORD_TYPE = T.enum('RecordType', RECORD_TYPES)

local LOG_RECORD_PARAMS = T.record('LogRecordParams', {
  suffix = T.string,
  log_dir = T.string,
  enable = T.bool,
  template = T.string,
  segment_header = T.string,
})

local LOG_FILE_PARAMS = T.record('LogFileParams', {
  log_dir = { T.string, required = true },
  max_file_size = T.u64,
  back_pressure = T.usize,
  compression_level = T.i32,
  max_segment_duration = T.duration,
  meta = T.list(T.string),
  headers = T.list(T.string),
  per_record = T.map(LOG_RECORD_PARAMS, RECORD_TYPE),
  filter_event = T.string,
  min_free_space = { T.min_free, since = '2024.09.02' },
  min_free_inodes = { T.min_free, since = '2024.09.02' },
})

local LOG_HOOK_PARAMS = T.record('LogHookParams', {
  name = { T.string, required = true },
  back_pressure = T.usize,
  meta = T.list(T.string),
  headers = T.list(T.string),
  per_record = T.map(LOG_RECORD_PARAMS, RECORD_TYPE),
  deferred_spool = T.bool,
})

local BOUNCE_CLASSIFIER = T.record('ClassifierParams', {
  files = { T.list(T.string), required = true },
  back_pressure = T.usize,
  pool_size = T.usize,
  cache_size = T.usize,
  uncategorized_cache_size = T.usize,
})

-- RedisConnKey: NOT deny_unknown_fields; unknown keys are ignored by KumoMTA.
local REDIS_CONN_KEY = T.record('RedisConnKey', {
  node = { T.one_of(T.string, T.list(T.string)), required = true },
  cluster = T.bool,
  pool_size = T.usize,
  read_from_replicas = T.bool,
  username = T.string,
  password = T.string,
  connect_timeout = T.duration,
  recycle_timeout = T.duration,
  wait_timeout = T.duration,
  response_timeout = T.duration,
}, { ignore_unknown = true, context = 'kumo.configure_redis_throttles' })

local CHECK_LEVEL = T.enum('CheckLevel', { 'Ignore', 'Warn', 'Error' })

-- ShapingMergeOptions (kumo.shaping.load second argument). deny_unknown_fields.
-- Before 2025.05.06 `http_timeout` has no serde default: "missing field `http_timeout`".
local SHAPING_MERGE_OPTIONS = T.record('ShapingMergeOptions', {
  provider_overlap = CHECK_LEVEL,
  dns_fail = CHECK_LEVEL,
  null_mx = CHECK_LEVEL,
  aliased_site = CHECK_LEVEL,
  remote_load = CHECK_LEVEL,
  local_load = CHECK_LEVEL,
  skip_remote = T.bool,
  http_timeout = { T.duration, required = not since '2025.05.06' },
})

-- DKIM SignerConfig: NOT deny_unknown_fields.
local SIGNER_CONFIG = T.record('SignerConfig', {
  domain = { T.string, required = true },
  selector = { T.string, required = true },
  headers = { T.list(T.string), required = true },
  key = { KEYSOURCE, required = true },
  atps = T.string,
  atpsh = T.string,
  agent_user_identifier = T.string,
  expiration = T.u64,
  body_length = T.bool,
  reporting = T.bool,
  header_canonicalization = T.enum('Canon', { 'Relaxed', 'Simple' }),
  body_canonicalization = T.enum('Canon', { 'Relaxed', 'Simple' }),
  over_sign = T.bool,
  ttl = T.duration,
}, { ignore_unknown = true, context = 'kumo.dkim signer' })

-- MemoizeParams: deny_unknown_fields only from 2025.05.06 (when the populate options came).
local MEMOIZE_PARAMS = T.record('MemoizeParams', {
  name = { T.string, required = true },
  ttl = { T.duration, required = true },
  capacity = { T.usize, required = true },
  invalidate_with_epoch = { T.bool, since = '2025.03.19' },
  populate_timeout = { T.duration, since = '2025.05.06' },
  retry_on_populate_timeout = { T.bool, since = '2025.05.06' },
  allow_stale_reads = { T.bool, since = '2025.05.06' },
}, { ignore_unknown = not since '2025.05.06', context = 'kumo.memoize' })

local TASK_PARAMS = T.record('TaskParams', {
  event_name = { T.string, required = true },
  args = { T.list(T.any), required = true },
}, { ignore_unknown = true, context = 'kumo.spawn_task' })

---------------------------------------------------------------------------------------------
-- Events
---------------------------------------------------------------------------------------------

-- 'S' = Single (one handler; a second registration is an error), 'M' = Multiple.
local EVENTS = {
  kumod = {
    init = 'S',
    pre_init = 'M',
    validate_config = 'M',
    get_queue_config = 'M',
    throttle_insert_ready_queue = 'M',
    should_enqueue_log_record = 'M',
    requeue_message = 'M',
    get_acl_definition = { 'M', since = '2026.03.04' },
    get_egress_path_config = 'S',
    get_egress_source = 'S',
    get_egress_pool = 'S',
    get_listener_domain = 'S',
    smtp_server_message_received = 'S',
    http_message_generated = 'S',
    http_server_validate_auth_basic = 'S',
    http_server_validate_auth_bearer = 'S',
    smtp_client_rewrite_delivery_status = 'S',
    smtp_server_ehlo = 'S',
    smtp_server_mail_from = 'S',
    smtp_server_mail_rcpt_to = 'S',
    smtp_server_auth_plain = 'S',
    smtp_server_data = 'S',
    spool_message_enumerated = 'S',
    smtp_server_connection_accepted = { 'S', since = '2025.05.06' },
    smtp_server_get_dynamic_parameters = { 'S', since = '2025.05.06' },
    -- registered by the shaping helper itself
    ['kumo.tsa.config.monitor'] = 'S',
    ['kumo.tsa.suspension.subscriber'] = 'S',
  },
  tsa = {
    tsa_init = 'S',
    tsa_load_shaping_data = 'S',
  },
}

local function event_kind(name)
  local def = EVENTS[STUB.mode][name]
  if def == nil and STUB.mode == 'kumod' and starts_with(name, 'make.') then
    -- delivery protocol constructors (custom_lua), e.g. make.<url>.tsa.kumomta
    return 'S'
  end
  if def == nil then
    local known = sorted_keys(EVENTS[STUB.mode])
    error(
      string.format(
        "kumo.on: '%s' is not an event that %s calls (known events: %s)",
        name,
        STUB.mode == 'tsa' and 'tsa-daemon' or 'kumod',
        table.concat(known, ', ')
      ),
      4
    )
  end
  if type(def) == 'table' then
    if not since(def.since) then
      error(
        string.format(
          "kumo.on: the '%s' event exists only since KumoMTA %s; the target is %s, where the handler would never be called",
          name,
          def.since,
          STUB.version_full
        ),
        4
      )
    end
    return def[1]
  end
  return def
end

local function register(name, fn)
  if type(name) ~= 'string' then
    error('kumo.on: ' .. invalid_type(name, 'a string event name'), 3)
  end
  if type(fn) ~= 'function' then
    error(string.format("kumo.on('%s'): error converting Lua %s to Function", name, type(fn)), 3)
  end
  if STUB.current_event then
    error(
      string.format(
        "Attempting to register an event handler via `kumo.on('%s', ...)` from within the event handler '%s'. You must move your event handler registration so that it is setup directly when the policy is loaded in order for it to consistently trigger and handle events.",
        name,
        STUB.current_event
      ),
      3
    )
  end
  local kind = event_kind(name)
  if kind == 'M' then
    STUB.handlers[name] = STUB.handlers[name] or {}
    table.insert(STUB.handlers[name], fn)
  else
    local existing = STUB.handlers[name]
    if existing then
      local src, line = R.fninfo(existing)
      error(string.format('%s event already has a handler defined at %s:%s', name, src, line), 3)
    end
    STUB.handlers[name] = fn
  end
  table.insert(STUB.registrations, { name = name, owner = STUB.owner })
end

-- Return values are converted like kumod converts them.
local RETURN_CHECKS = {
  get_queue_config = { 'QueueConfig', QUEUE_CONFIG },
  get_egress_path_config = { 'EgressPathConfig', EGRESS_PATH },
  get_egress_source = { 'EgressSource', EGRESS_SOURCE },
  get_egress_pool = { 'EgressPool', EGRESS_POOL },
}
local BOOL_EVENTS = {
  should_enqueue_log_record = true,
  http_server_validate_auth_basic = true,
  http_server_validate_auth_bearer = true,
}

local function check_return(name, res)
  if res.n == 0 then
    return
  end
  local v = res[1]
  local rc = RETURN_CHECKS[name]
  if rc then
    if v == nil then
      error(string.format('%s: error converting Lua nil to %s', name, rc[1]), 0)
    end
    local mt = getmetatable(v)
    if mt and mt.__kumo_type then
      if mt.__kumo_type ~= rc[1] then
        error(string.format('%s: expected a %s, got a %s', name, rc[1], mt.__kumo_type), 0)
      end
    else
      -- a plain table is deserialized, with the same rules as make_*
      local e = rc[2](v)
      if e then
        error(string.format('%s: %s', name, e), 0)
      end
    end
  elseif BOOL_EVENTS[name] then
    -- http_server_validate_auth_* may return an AuthInfo table from 2026.03.04 on
    local auth_info_ok = type(v) == 'table' and since '2026.03.04' and name ~= 'should_enqueue_log_record'
    if v ~= nil and type(v) ~= 'boolean' and not auth_info_ok then
      error(string.format('%s: error converting Lua %s to boolean', name, type(v)), 0)
    end
  elseif name == 'tsa_load_shaping_data' then
    local mt = getmetatable(v)
    if not (mt and mt.__kumo_type == 'Shaping') then
      error('tsa_load_shaping_data: expected a Shaping object (from kumo.shaping.load)', 0)
    end
  end
end

local post_fire -- forward

function STUB.fire(name, ...)
  local h = STUB.handlers[name]
  if h == nil then
    post_fire(name)
    return { n = 0 }
  end
  if STUB.current_event then
    error(string.format("cannot fire '%s' from inside '%s'", name, STUB.current_event), 0)
  end
  local args = table.pack(...)
  local function run()
    if type(h) == 'table' then
      for _, f in ipairs(h) do
        local r = table.pack(f(table.unpack(args, 1, args.n)))
        if r.n > 0 then
          return r
        end
      end
      return { n = 0 }
    end
    return table.pack(h(table.unpack(args, 1, args.n)))
  end
  STUB.current_event = name
  _KUMO_CURRENT_EVENT = name
  local ok, res = pcall(run)
  STUB.current_event = nil
  _KUMO_CURRENT_EVENT = nil
  if not ok then
    if type(res) == 'table' and res.kumo_reject then
      STUB.last_rejection = { code = res.code, message = res.message }
    end
    error(res, 0)
  end
  check_return(name, res)
  post_fire(name)
  return res
end

---------------------------------------------------------------------------------------------
-- Objects returned by kumo.make_* (tables with a typed metatable; converted to JSON as their
-- fields)
---------------------------------------------------------------------------------------------

local OBJECT_MTS = {}
local function make_object(kind, fields, methods)
  local mt = OBJECT_MTS[kind]
  if not mt then
    mt = { __kumo_type = kind, __name = kind }
    OBJECT_MTS[kind] = mt
  end
  if methods then
    mt = { __kumo_type = kind, __name = kind, __index = methods }
  end
  return setmetatable(deepcopy(fields), mt)
end

local function init_only(fname, also)
  local ok = STUB.current_event == 'init'
    or (STUB.mode == 'tsa' and STUB.current_event == 'tsa_init')
    or (also ~= nil and STUB.current_event == also)
  if not ok then
    error(
      string.format(
        "%s must be called inside kumo.on('init', ...) (it was called from %s). KumoMTA runs the policy's top-level code once per Lua context, so a listener/spool/log setup outside init runs many times and fails",
        fname,
        STUB.current_event and ("the '" .. STUB.current_event .. "' event") or 'top-level policy code'
      ),
      3
    )
  end
end

local function in_event(fname, event)
  if STUB.current_event ~= event then
    error(
      string.format(
        "%s must be called inside kumo.on('%s', ...) (it was called from %s)",
        fname,
        event,
        STUB.current_event and ("the '" .. STUB.current_event .. "' event") or 'top-level policy code'
      ),
      3
    )
  end
end

---------------------------------------------------------------------------------------------
-- kumo
---------------------------------------------------------------------------------------------

local kumo = {}
local KUMOD_ONLY = {}

local function to_string_args(...)
  local out = {}
  for i = 1, select('#', ...) do
    table.insert(out, tostring((select(i, ...))))
  end
  return table.concat(out, ' ')
end

function kumo.on(name, fn)
  record('kumo.on', name, fn)
  register(name, fn)
end

local function log_fn(level)
  return function(...)
    record('kumo.log_' .. level, ...)
    table.insert(STUB.output, string.upper(level) .. ': ' .. to_string_args(...))
  end
end
if since '2025.03.19' then
  kumo.log_info = log_fn 'info'
  kumo.log_warn = log_fn 'warn'
  kumo.log_error = log_fn 'error'
  kumo.log_debug = log_fn 'debug'
end

function kumo.reject(code, message)
  record('kumo.reject', code, message)
  local c = math.tointeger(tonumber(code))
  if not c or c < 0 or c > 65535 then
    error('kumo.reject: ' .. invalid_type(code, 'u16'), 2)
  end
  if type(message) ~= 'string' then
    error('kumo.reject: ' .. invalid_type(message, 'a string'), 2)
  end
  error(setmetatable({ kumo_reject = true, code = c, message = message }, {
    __tostring = function(e)
      return string.format('%d %s', e.code, e.message)
    end,
  }), 2)
end

function kumo.validation_failed()
  record 'kumo.validation_failed'
  STUB.validation_failed = true
end

-- A tracing EnvFilter directive, exactly as tracing-subscriber 0.3 parses one
-- (filter/env/directive.rs `Directive::parse`): a lone level (names case-insensitive, or a
-- number 0-5), or one or two of `target` ([\w:-]+) / `[span]`, then optionally `=` and
-- optionally a level (no level: trace). Nothing is trimmed: `kumod=info, lua=info` fails on
-- ` lua=info`.
local FILTER_LEVELS = {
  trace = true, debug = true, info = true, warn = true, error = true, off = true,
  ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true, ['5'] = true,
}
local function valid_filter_directive(d)
  if FILTER_LEVELS[d:lower()] then
    return true
  end
  local rest, pieces = d, 0
  while pieces < 2 do
    local piece = rest:match '^[%w_:%-\128-\255]+' or rest:match '^%[[^%]]*%]'
    if not piece then
      break
    end
    rest = rest:sub(#piece + 1)
    pieces = pieces + 1
  end
  if pieces == 0 then
    return false
  end
  if rest == '' then
    return true
  end
  if rest:sub(1, 1) ~= '=' then
    return false
  end
  local level = rest:sub(2)
  return level == '' or FILTER_LEVELS[level:lower()] == true
end

function kumo.set_diagnostic_log_filter(filter)
  record('kumo.set_diagnostic_log_filter', filter)
  if type(filter) ~= 'string' then
    error('kumo.set_diagnostic_log_filter: ' .. invalid_type(filter, 'a string'), 2)
  end
  -- EnvFilter splits on `,` and skips empty pieces.
  for directive in filter:gmatch '[^,]+' do
    if not valid_filter_directive(directive) then
      error(
        string.format(
          'kumo.set_diagnostic_log_filter: parsing log filter %q: invalid filter directive `%s`',
          filter,
          directive
        ),
        2
      )
    end
  end
end

function kumo.configure_redis_throttles(params)
  record('kumo.configure_redis_throttles', params)
  init_only 'kumo.configure_redis_throttles'
  check_params('kumo.configure_redis_throttles', params, REDIS_CONN_KEY)
  if STUB.redis_configured then
    error('kumo.configure_redis_throttles: redis already configured for throttles', 2)
  end
  STUB.redis_configured = true
end

function kumo.spawn_task(params)
  record('kumo.spawn_task', params)
  check_params('kumo.spawn_task', params, TASK_PARAMS)
end

function kumo.available_parallelism()
  return 4
end

function kumo.sleep(seconds)
  record('kumo.sleep', seconds)
end

function kumo.bump_config_epoch()
  record 'kumo.bump_config_epoch'
end

function kumo.memoize(fn, params)
  record('kumo.memoize', fn, params)
  if type(fn) ~= 'function' then
    error('kumo.memoize: ' .. invalid_type(fn, 'a function'), 2)
  end
  check_params('kumo.memoize', params, MEMOIZE_PARAMS)
  local cache = {}
  local function key_of(v)
    if type(v) == 'table' then
      local parts = {}
      for _, k in ipairs(sorted_keys(v)) do
        table.insert(parts, tostring(k) .. '=' .. key_of(v[k]))
      end
      return '{' .. table.concat(parts, ',') .. '}'
    end
    return type(v) .. ':' .. tostring(v)
  end
  return function(...)
    local args = table.pack(...)
    local parts = {}
    for i = 1, args.n do
      table.insert(parts, key_of(args[i]))
    end
    local key = table.concat(parts, '|')
    local hit = cache[key]
    if hit then
      return table.unpack(hit, 1, hit.n)
    end
    local r = table.pack(fn(...))
    cache[key] = r
    return table.unpack(r, 1, r.n)
  end
end

-- kumo.aaa (since 2026.03.04): ACLs for get_acl_definition. Rules are
-- { criteria = CRITERIA, privilege = STRING, access = 'Allow' | 'Deny' }; a criteria is
-- { Identity = { Individual = s } | { Group = s } | { Authenticated = {} } |
--   { Unauthenticated = {} } | { Any = {} } }, { Machine = ip }, { AllOf = {...} },
-- { AnyOf = {...} } or { Not = criteria } (docs/reference/kumo.aaa/make_access_control_list.md).
local function check_criteria(c, where)
  if type(c) ~= 'table' then
    error(where .. ': criteria must be a table', 3)
  end
  local n = 0
  for k, v in pairs(c) do
    n = n + 1
    if k == 'Identity' then
      local m = 0
      for ik, iv in pairs(v) do
        m = m + 1
        if ik == 'Individual' or ik == 'Group' then
          if type(iv) ~= 'string' then
            error(where .. ': Identity.' .. ik .. ' must be a string', 3)
          end
        elseif ik == 'Authenticated' or ik == 'Unauthenticated' or ik == 'Any' then
          if type(iv) ~= 'table' then
            error(where .. ': Identity.' .. ik .. ' must be {}', 3)
          end
        else
          error(where .. ': unknown variant `' .. tostring(ik) .. '` in Identity', 3)
        end
      end
      if m ~= 1 then
        error(where .. ': Identity needs exactly one variant', 3)
      end
    elseif k == 'Machine' then
      if type(v) ~= 'string' then
        error(where .. ': Machine must be an IP string', 3)
      end
    elseif k == 'AllOf' or k == 'AnyOf' then
      for _, sub in ipairs(v) do
        check_criteria(sub, where)
      end
    elseif k == 'Not' then
      check_criteria(v, where)
    else
      error(where .. ': unknown criteria `' .. tostring(k) .. '`', 3)
    end
  end
  if n ~= 1 then
    error(where .. ': a criteria has exactly one variant', 3)
  end
end

if since '2026.03.04' then
  kumo.aaa = {}
  function kumo.aaa.make_access_control_list(rules)
    record('kumo.aaa.make_access_control_list', rules)
    if type(rules) ~= 'table' then
      error('kumo.aaa.make_access_control_list: expected a list of rules', 2)
    end
    for i, rule in ipairs(rules) do
      local where = string.format('kumo.aaa.make_access_control_list: rule %d', i)
      for k in pairs(rule) do
        if k ~= 'criteria' and k ~= 'privilege' and k ~= 'access' then
          error(where .. ': unknown field `' .. tostring(k) .. '`', 2)
        end
      end
      check_criteria(rule.criteria, where)
      if type(rule.privilege) ~= 'string' then
        error(where .. ': privilege must be a string', 2)
      end
      if rule.access ~= 'Allow' and rule.access ~= 'Deny' then
        error(where .. ': access must be `Allow` or `Deny`', 2)
      end
    end
    return { acl = rules }
  end
end

kumo.string = {}
function kumo.string.split(s, sep)
  if type(s) ~= 'string' or type(sep) ~= 'string' then
    error('kumo.string.split: expected (string, string)', 2)
  end
  local out = {}
  if sep == '' then
    for c in s:gmatch '.' do
      table.insert(out, c)
    end
    return out
  end
  local start = 1
  while true do
    local i, j = string.find(s, sep, start, true)
    if not i then
      table.insert(out, string.sub(s, start))
      break
    end
    table.insert(out, string.sub(s, start, i - 1))
    start = j + 1
  end
  return out
end
if not since '2024.09.02' then
  kumo.string = nil
end

function kumo.json_encode(v)
  return R.json_encode(v, false)
end
function kumo.json_encode_pretty(v)
  return R.json_encode(v, true)
end
function kumo.json_parse(s)
  return R.json_parse(s)
end
function kumo.json_load(path)
  return R.json_load(path)
end
function kumo.toml_load(path)
  return R.toml_load(path)
end
function kumo.toml_parse(s)
  return R.toml_parse(s)
end
kumo.serde = {
  json_encode = kumo.json_encode,
  json_encode_pretty = kumo.json_encode_pretty,
  json_parse = kumo.json_parse,
  json_load = kumo.json_load,
  toml_load = kumo.toml_load,
  toml_parse = kumo.toml_parse,
}

-- kumo.domain_map: exact keys beat wildcards `*.suffix`; a wildcard does not match the apex.
local function domain_map_lookup(map, domain)
  if type(domain) ~= 'string' then
    return nil
  end
  local v = map[domain]
  if v ~= nil then
    return v
  end
  local rest = domain
  while true do
    local dot = rest:find('.', 1, true)
    if not dot then
      return nil
    end
    rest = rest:sub(dot + 1)
    local w = map['*.' .. rest]
    if w ~= nil then
      return w
    end
  end
end

kumo.domain_map = {}
function kumo.domain_map.new(tbl)
  local entries = deepcopy(tbl or {})
  return setmetatable({}, {
    __kumo_type = 'DomainMap',
    __index = function(_, k)
      return domain_map_lookup(entries, k)
    end,
    __newindex = function(_, k, v)
      entries[k] = v
    end,
    __pairs = function()
      return next, entries, nil
    end,
    __stub_repr = function()
      return deepcopy(entries)
    end,
  })
end

-- kumod-only functions ---------------------------------------------------------------------

function KUMOD_ONLY.start_esmtp_listener(params)
  record('kumo.start_esmtp_listener', params)
  init_only 'kumo.start_esmtp_listener'
  check_params('kumo.start_esmtp_listener', params, ESMTP_LISTENER)
end

function KUMOD_ONLY.start_http_listener(params)
  record('kumo.start_http_listener', params)
  init_only 'kumo.start_http_listener'
  check_params('kumo.start_http_listener', params, HTTP_LISTENER)
end

function KUMOD_ONLY.define_spool(params)
  record('kumo.define_spool', params)
  init_only 'kumo.define_spool'
  check_params('kumo.define_spool', params, DEFINE_SPOOL)
  STUB.spools[params.name] = deepcopy(params)
end

function KUMOD_ONLY.configure_local_logs(params)
  record('kumo.configure_local_logs', params)
  init_only 'kumo.configure_local_logs'
  check_params('kumo.configure_local_logs', params, LOG_FILE_PARAMS)
end

function KUMOD_ONLY.configure_log_hook(params)
  record('kumo.configure_log_hook', params)
  init_only('kumo.configure_log_hook', 'pre_init') -- policy-extras.log_hooks calls it in pre_init
  check_params('kumo.configure_log_hook', params, LOG_HOOK_PARAMS)
end

function KUMOD_ONLY.configure_bounce_classifier(params)
  record('kumo.configure_bounce_classifier', params)
  init_only 'kumo.configure_bounce_classifier'
  check_params('kumo.configure_bounce_classifier', params, BOUNCE_CLASSIFIER)
  for _, f in ipairs(params.files) do
    if not (f:match '%.toml$' or f:match '%.json$') then
      error(
        string.format(
          'kumo.configure_bounce_classifier: %s: classifier files must have either .toml or .json filename extension',
          f
        ),
        2
      )
    end
  end
end

function KUMOD_ONLY.configure_accounting_db_path(path)
  record('kumo.configure_accounting_db_path', path)
  init_only 'kumo.configure_accounting_db_path'
  check_params('kumo.configure_accounting_db_path', path, T.string)
end

function KUMOD_ONLY.set_config_monitor_globs(globs)
  record('kumo.set_config_monitor_globs', globs)
  if not since '2024.11.08' then
    error('kumo.set_config_monitor_globs exists only since 2024.11.08', 2)
  end
  check_params('kumo.set_config_monitor_globs', globs, T.list(T.string))
  STUB.monitor_globs = deepcopy(globs)
end

local function thread_knob(name)
  KUMOD_ONLY[name] = function(n)
    record('kumo.' .. name, n)
    if math.type(n) ~= 'integer' then
      local coerced = type(n) == 'string' and math.tointeger(tonumber(n))
      if coerced and coerced >= 0 then
        warn(string.format('kumo.%s: a string "%s" is coerced to a number by mlua; pass a number', name, n))
      else
        error(string.format('kumo.%s: error converting Lua %s to usize', name, type(n)), 2)
      end
    elseif n < 0 then
      error(string.format('kumo.%s: integer %d out of range for usize', name, n), 2)
    end
  end
end
for _, name in ipairs {
  'set_spoolin_threads',
  'set_httpinject_threads',
  'set_smtpsrv_threads',
  'set_qmaint_threads',
  'set_readyq_threads',
  'set_logging_threads',
} do
  thread_knob(name)
end
if since '2025.05.06' then
  thread_knob 'set_ready_qmaint_threads'
end
for _, name in ipairs { 'set_memory_hard_limit', 'set_memory_soft_limit', 'set_memory_low_thresh' } do
  thread_knob(name)
end

function KUMOD_ONLY.set_httpinject_recipient_rate_limit(spec)
  record('kumo.set_httpinject_recipient_rate_limit', spec)
  if spec ~= nil then
    check_params('kumo.set_httpinject_recipient_rate_limit', spec, T.rate)
  end
end

function KUMOD_ONLY.make_egress_path(params)
  record('kumo.make_egress_path', params)
  check_params('kumo.make_egress_path', params, EGRESS_PATH)
  return make_object('EgressPathConfig', params)
end

function KUMOD_ONLY.make_queue_config(params)
  record('kumo.make_queue_config', params)
  check_params('kumo.make_queue_config', params, QUEUE_CONFIG)
  return make_object('QueueConfig', params)
end

function KUMOD_ONLY.make_egress_source(params)
  record('kumo.make_egress_source', params)
  check_params('kumo.make_egress_source', params, EGRESS_SOURCE)
  return make_object('EgressSource', params)
end

function KUMOD_ONLY.make_egress_pool(params)
  record('kumo.make_egress_pool', params)
  check_params('kumo.make_egress_pool', params, EGRESS_POOL)
  return make_object('EgressPool', params)
end

local THROTTLE_METHODS = {}
function THROTTLE_METHODS:throttle()
  record('throttle:throttle', self.name)
  return { throttled = false }
end
function THROTTLE_METHODS:sleep_if_throttled()
  record('throttle:sleep_if_throttled', self.name)
  return false
end
function THROTTLE_METHODS:delay_message_if_throttled(msg)
  record('throttle:delay_message_if_throttled', self.name, msg)
  return false
end
function THROTTLE_METHODS:explain()
  return self.spec
end

function KUMOD_ONLY.make_throttle(name, spec)
  record('kumo.make_throttle', name, spec)
  check_params('kumo.make_throttle', name, T.string)
  check_params('kumo.make_throttle', spec, T.rate)
  return make_object('Throttle', { name = name, spec = spec }, THROTTLE_METHODS)
end

-- kumo.dkim --------------------------------------------------------------------------------

local function make_dkim_signer(kind, params)
  check_params('kumo.dkim.' .. kind .. '_signer', params, SIGNER_CONFIG, 4)
  local has_from = false
  for _, h in ipairs(params.headers) do
    if type(h) == 'string' and h:lower() == 'from' then
      has_from = true
    end
  end
  if not has_from then
    error(string.format('kumo.dkim.%s_signer: missing From in signed headers', kind), 3)
  end
  if kind == 'rsa_sha256' then
    for _, f in ipairs { 'atps', 'atpsh', 'agent_user_identifier', 'body_length', 'reporting' } do
      if params[f] ~= nil then
        error(string.format('kumo.dkim.rsa_sha256_signer: %s is not supported for RSA keys', f), 3)
      end
    end
  end
  if kind == 'ed25519' and not since '2025.05.06' then
    error(
      'kumo.dkim.ed25519_signer: loading an ed25519 private key always fails before KumoMTA 2025.05.06 (#368)',
      3
    )
  end
  local key = params.key
  if type(key) == 'string' then
    local data, err = R.read(key)
    if not data then
      error(string.format('kumo.dkim.%s_signer: failed to load key %s: %s', kind, key, err), 3)
    end
    if not (data:find('-----BEGIN', 1, true) and data:find('PRIVATE KEY', 1, true)) then
      error(string.format('kumo.dkim.%s_signer: %s is not a PEM private key', kind, key), 3)
    end
  elseif key.key_data then
    if not key.key_data:find('PRIVATE KEY', 1, true) then
      error(string.format('kumo.dkim.%s_signer: key_data is not a PEM private key', kind), 3)
    end
  elseif key.vault_mount then
    -- KeySource::Vault (crates/data-loader/src/lib.rs): without vault_address / vault_token
    -- in the source, the loader reads $VAULT_ADDR / $VAULT_TOKEN, and fails without them.
    for _, v in ipairs { { 'vault_address', 'VAULT_ADDR' }, { 'vault_token', 'VAULT_TOKEN' } } do
      if key[v[1]] == nil and (STUB.env[v[2]] == nil or STUB.env[v[2]] == '') then
        error(
          string.format('kumo.dkim.%s_signer: %s was not specified and $%s is not set/usable', kind, v[1], v[2]),
          3
        )
      end
    end
  end
  return make_object('DkimSigner', { algorithm = kind, params = params })
end

-- kumo.http (crates/mod-http): a client whose requests are recorded, never sent. The
-- answer's status is STUB.http_status (default 200); set it from a test with eval.
KUMOD_ONLY.http = {}
function KUMOD_ONLY.http.build_client(params)
  record('kumo.http.build_client', params)
  if type(params) ~= 'table' then
    error('kumo.http.build_client: ' .. invalid_type(params, 'a table'), 2)
  end
  local client = {}
  local function request(method, url)
    if type(url) ~= 'string' then
      error('client:' .. method:lower() .. ': ' .. invalid_type(url, 'a string'), 3)
    end
    local req = { method = method, url = url, headers = {}, body = '' }
    local r = {}
    function r:header(k, v)
      if type(k) ~= 'string' or type(v) ~= 'string' then
        error('request:header: name and value must be strings', 2)
      end
      req.headers[k] = v
      return self
    end
    function r:body(b)
      if type(b) ~= 'string' then
        error('request:body: ' .. invalid_type(b, 'a string'), 2)
      end
      req.body = b
      return self
    end
    function r:send()
      record('http:send', req)
      local code = STUB.http_status or 200
      local resp = {}
      function resp:status_code()
        return code
      end
      function resp:status_reason()
        return code < 300 and 'OK' or 'Error'
      end
      function resp:status_is_success()
        return code >= 200 and code < 300
      end
      function resp:text()
        return 'stub'
      end
      return resp
    end
    return r
  end
  function client:post(url)
    return request('POST', url)
  end
  function client:get(url)
    return request('GET', url)
  end
  function client:close()
    record 'http:close'
  end
  return client
end

KUMOD_ONLY.dkim = {}
function KUMOD_ONLY.dkim.rsa_sha256_signer(params)
  record('kumo.dkim.rsa_sha256_signer', params)
  return make_dkim_signer('rsa_sha256', params)
end
function KUMOD_ONLY.dkim.ed25519_signer(params)
  record('kumo.dkim.ed25519_signer', params)
  return make_dkim_signer('ed25519', params)
end

-- kumo.shaping -----------------------------------------------------------------------------

local shaping_load -- forward (defined with the shaping data model below)
kumo.shaping = {}
function kumo.shaping.load(paths, options)
  record('kumo.shaping.load', paths, options)
  check_params('kumo.shaping.load', paths, T.list(T.string))
  if options ~= nil then
    check_params('kumo.shaping.load', options, SHAPING_MERGE_OPTIONS)
  end
  return shaping_load(paths, options)
end

if STUB.mode == 'kumod' then
  merge_into(KUMOD_ONLY, kumo)
end

setmetatable(kumo, {
  __index = function(_, k)
    if KUMOD_ONLY[k] ~= nil and STUB.mode == 'tsa' then
      error(string.format('kumo.%s is a kumod function; tsa-daemon does not provide it', k), 2)
    end
    error(
      string.format(
        'kumo.%s: no such function in KumoMTA %s (or not supported by the kumoc stub)',
        tostring(k),
        STUB.version_full
      ),
      2
    )
  end,
})

---------------------------------------------------------------------------------------------
-- Messages
---------------------------------------------------------------------------------------------

local MSG = {}
MSG_MT = {
  __name = 'Message',
  __index = function(_, k)
    local m = MSG[k]
    if m then
      return m
    end
    local names = sorted_keys(MSG)
    error(
      string.format(
        "message has no method '%s' (the kumoc stub implements: %s)",
        tostring(k),
        table.concat(names, ', ')
      ),
      2
    )
  end,
  __newindex = function(_, k)
    error(string.format("cannot assign field '%s' on a message", tostring(k)), 2)
  end,
}

local function check_msg(self, method)
  if getmetatable(self) ~= MSG_MT then
    error(string.format('msg:%s: must be called with `:` on a message object', method), 3)
  end
  return rawget(self, '__state')
end

local function parse_address(s)
  if type(s) ~= 'string' then
    return nil
  end
  local addr = s:match '<([^>]*)>' or s
  addr = addr:gsub('^%s+', ''):gsub('%s+$', '')
  local user, domain = addr:match '^(.+)@([^@]+)$'
  if not user then
    return nil
  end
  return setmetatable({ user = user, domain = domain, email = addr }, {
    __tostring = function(a)
      return a.email
    end,
    __stub_repr = function(a)
      return a.email
    end,
  })
end

local function find_header(st, name)
  local lname = name:lower()
  for i, h in ipairs(st.headers) do
    if h[1]:lower() == lname then
      return i, h[2]
    end
  end
end

function STUB.new_message(spec)
  local st = {
    id = STUB.next_message_id,
    meta = deepcopy(spec.meta or {}),
    headers = {},
    sender = spec.sender,
    recipient = spec.recipient,
    signatures = {},
    scheduling = nil,
  }
  STUB.next_message_id = STUB.next_message_id + 1
  for _, h in ipairs(spec.headers or {}) do
    table.insert(st.headers, { h[1], h[2] })
  end
  if spec.from_header and spec.from_header ~= '' and not find_header(st, 'From') then
    table.insert(st.headers, 1, { 'From', spec.from_header })
  end
  local msg = setmetatable({ __state = st }, MSG_MT)
  STUB.last_message = msg
  return msg
end

-- Tables the harness must show as JSON arrays even when empty.
local ARRAY_MT = { __stub_array = true }

function STUB.message_state(msg)
  msg = msg or STUB.last_message
  if not msg then
    return nil
  end
  local st = rawget(msg, '__state')
  return {
    id = st.id,
    meta = deepcopy(st.meta),
    headers = setmetatable(deepcopy(st.headers), ARRAY_MT),
    sender = st.sender,
    recipient = st.recipient,
    signatures = setmetatable(deepcopy(st.signatures), ARRAY_MT),
    scheduling = deepcopy(st.scheduling),
  }
end

local function check_str(method, v, what)
  if type(v) ~= 'string' then
    error(string.format('msg:%s: %s: %s', method, what, invalid_type(v, 'a string')), 3)
  end
end

function MSG:set_meta(key, value)
  local st = check_msg(self, 'set_meta')
  record('msg:set_meta', key, value)
  check_str('set_meta', key, 'key')
  if type(value) == 'function' then
    error('msg:set_meta: cannot store a function in message metadata', 2)
  end
  st.meta[key] = deepcopy(value)
end

function MSG:get_meta(key)
  local st = check_msg(self, 'get_meta')
  record('msg:get_meta', key)
  check_str('get_meta', key, 'key')
  return deepcopy(st.meta[key])
end

function MSG:get_first_named_header_value(name)
  local st = check_msg(self, 'get_first_named_header_value')
  record('msg:get_first_named_header_value', name)
  check_str('get_first_named_header_value', name, 'name')
  local _, v = find_header(st, name)
  return v
end

function MSG:remove_all_named_headers(name)
  local st = check_msg(self, 'remove_all_named_headers')
  record('msg:remove_all_named_headers', name)
  check_str('remove_all_named_headers', name, 'name')
  local kept = {}
  for _, h in ipairs(st.headers) do
    if h[1]:lower() ~= name:lower() then
      table.insert(kept, h)
    end
  end
  st.headers = kept
end

function MSG:prepend_header(name, value)
  local st = check_msg(self, 'prepend_header')
  record('msg:prepend_header', name, value)
  check_str('prepend_header', name, 'name')
  check_str('prepend_header', value, 'value')
  table.insert(st.headers, 1, { name, value })
end

function MSG:append_header(name, value)
  local st = check_msg(self, 'append_header')
  record('msg:append_header', name, value)
  check_str('append_header', name, 'name')
  check_str('append_header', value, 'value')
  table.insert(st.headers, { name, value })
end

function MSG:import_scheduling_header(name, remove)
  local st = check_msg(self, 'import_scheduling_header')
  record('msg:import_scheduling_header', name, remove)
  check_str('import_scheduling_header', name, 'name')
  if remove ~= nil and type(remove) ~= 'boolean' then
    error('msg:import_scheduling_header: ' .. invalid_type(remove, 'a boolean'), 2)
  end
  local _, v = find_header(st, name)
  if v == nil then
    return
  end
  local ok, parsed = pcall(R.json_parse, v)
  if not ok or type(parsed) ~= 'table' then
    if since '2025.03.19' then
      error(string.format('msg:import_scheduling_header: invalid scheduling header %s: %s', name, v), 2)
    end
  else
    st.scheduling = parsed
  end
  if remove then
    self:remove_all_named_headers(name)
  end
end

function MSG:from_header()
  local st = check_msg(self, 'from_header')
  record 'msg:from_header'
  local _, v = find_header(st, 'From')
  return parse_address(v)
end

function MSG:sender()
  local st = check_msg(self, 'sender')
  record 'msg:sender'
  return parse_address(st.sender)
end

function MSG:recipient(...)
  local st = check_msg(self, 'recipient')
  record('msg:recipient', ...)
  if select('#', ...) > 0 then
    error('msg:recipient takes no arguments', 2)
  end
  return parse_address(st.recipient)
end

local CONFORMANCE_FLAGS = {
  MISSING_COLON_VALUE = true,
  NON_CANONICAL_LINE_ENDINGS = true,
  NAME_ENDS_WITH_SPACE = true,
  LINE_TOO_LONG = true,
  NEEDS_TRANSFER_ENCODING = true,
  MISSING_DATE_HEADER = true,
  MISSING_MESSAGE_ID_HEADER = true,
  MISSING_MIME_VERSION = true,
}

function MSG:check_fix_conformance(check, fix)
  check_msg(self, 'check_fix_conformance')
  record('msg:check_fix_conformance', check, fix)
  for i, flags in ipairs { check, fix } do
    if type(flags) ~= 'string' then
      error('msg:check_fix_conformance: ' .. invalid_type(flags, 'a string of |-separated flags'), 2)
    end
    for flag in flags:gmatch '[^|]+' do
      local f = flag:gsub('^%s+', ''):gsub('%s+$', '')
      if not CONFORMANCE_FLAGS[f] then
        error(
          string.format(
            'msg:check_fix_conformance: unrecognized named flag `%s` in %s argument (known: %s)',
            f,
            i == 1 and 'check' or 'fix',
            table.concat(sorted_keys(CONFORMANCE_FLAGS), ', ')
          ),
          2
        )
      end
    end
  end
end

function MSG:dkim_sign(signer)
  local st = check_msg(self, 'dkim_sign')
  record('msg:dkim_sign', signer)
  local mt = getmetatable(signer)
  if not (mt and mt.__kumo_type == 'DkimSigner') then
    error('msg:dkim_sign: expected a signer from kumo.dkim.rsa_sha256_signer or ed25519_signer', 2)
  end
  table.insert(st.signatures, deepcopy(signer))
end

function MSG:queue_name()
  local st = check_msg(self, 'queue_name')
  record 'msg:queue_name'
  if st.meta.queue then
    return st.meta.queue
  end
  local rcpt = parse_address(st.recipient)
  local domain = rcpt and rcpt.domain or ''
  local tenant, campaign = st.meta.tenant, st.meta.campaign
  local name = domain
  if tenant or campaign then
    name = (tenant or '') .. '@' .. domain
  end
  if campaign then
    name = campaign .. ':' .. name
  end
  if st.meta.routing_domain then
    name = name .. '!' .. st.meta.routing_domain
  end
  return name
end

---------------------------------------------------------------------------------------------
-- File loading (policy_utils.load_json_or_toml_file)
---------------------------------------------------------------------------------------------

local function load_json_or_toml_file(filename)
  if type(filename) == 'table' then
    return filename
  end
  if type(filename) ~= 'string' then
    error('expected a file name or an inline table, got ' .. type(filename), 3)
  end
  if filename:match '.toml$' then
    return R.toml_load(filename)
  end
  return R.json_load(filename)
end

-- Minimal glob matching for set_config_monitor_globs: `**`, `*`, `?`, `{a,b}`.
local function glob_to_patterns(glob)
  local a, b, c = glob:find '{([^}]*)}'
  if a then
    local out = {}
    for alt in c:gmatch '[^,]+' do
      for _, p in ipairs(glob_to_patterns(glob:sub(1, a - 1) .. alt .. glob:sub(b + 1))) do
        table.insert(out, p)
      end
    end
    return out
  end
  local p = glob:gsub('[%^%$%(%)%%%.%[%]%+%-]', '%%%0')
  p = p:gsub('%*%*/', '\1'):gsub('%*%*', '\2'):gsub('%*', '[^/]*'):gsub('%?', '[^/]')
  p = p:gsub('\1', '.-'):gsub('\2', '.*')
  return { '^' .. p .. '$' }
end

local DEFAULT_MONITOR_GLOBS = { '/opt/kumomta/etc/**/*.{lua,json,toml,yaml}' }

local function covered_by_monitor_globs(path)
  for _, glob in ipairs(STUB.monitor_globs or DEFAULT_MONITOR_GLOBS) do
    for _, pat in ipairs(glob_to_patterns(glob)) do
      if path:match(pat) then
        return true
      end
    end
  end
  return false
end

---------------------------------------------------------------------------------------------
-- policy-extras.sources
---------------------------------------------------------------------------------------------

local SOURCES = {}

local function load_sources_data(data_files)
  local target = { sources = {}, pools = {}, empty_pools = {} }
  for _, file_name in ipairs(data_files) do
    local data = load_json_or_toml_file(file_name)
    local where = type(file_name) == 'table' and '(inline table)' or file_name
    local e = T.record('SourcesHelperConfig', { pool = T.map(T.any), source = T.map(T.any) })(data)
    if e then
      error(string.format('sources helper: %s: %s', where, e), 0)
    end
    for source, params in pairs(data.source or {}) do
      if type(params) ~= 'table' then
        error(string.format("sources helper: %s: [source.'%s'] must be a table", where, source), 0)
      end
      local p = deepcopy(params)
      if p.name ~= nil then
        error(
          string.format(
            "sources helper: %s: [source.'%s']: `name` inside a source block renames the source (the table key is the name)",
            where,
            source
          ),
          0
        )
      end
      p.name = source
      local err = EGRESS_SOURCE(p)
      if err then
        error(string.format("sources helper: %s: [source.'%s']: %s", where, source, err), 0)
      end
      target.sources[source] = target.sources[source] or { name = source }
      merge_into(params, target.sources[source])
    end
    for pool, pool_def in pairs(data.pool or {}) do
      if type(pool_def) ~= 'table' then
        error(string.format("sources helper: %s: [pool.'%s'] must be a table", where, pool), 0)
      end
      if next(pool_def) == nil and not target.pools[pool] then
        target.empty_pools[pool] = true
      end
      for pool_source, params in pairs(pool_def) do
        local perr = T.record('PoolSourceEntry', {
          weight = function(v)
            if type(v) ~= 'number' then
              return invalid_type(v, 'a number')
            end
            return T.u32(v)
          end,
        })(params)
        if perr then
          error(
            string.format("sources helper: %s: [pool.'%s'.'%s']: %s", where, pool, pool_source, perr),
            0
          )
        end
        target.pools[pool] = target.pools[pool] or { name = pool, entries = {} }
        target.empty_pools[pool] = nil
        local entry = deepcopy(params)
        entry.name = pool_source
        table.insert(target.pools[pool].entries, entry)
      end
    end
  end
  if since '2026.04.09' then
    for pool in pairs(target.empty_pools) do
      target.pools[pool] = target.pools[pool] or { name = pool, entries = {} }
    end
  else
    for pool in pairs(target.empty_pools) do
      warn(
        string.format(
          "sources helper: pool '%s' has no entries; before KumoMTA 2026.04.09 an empty pool is dropped, so get_egress_pool('%s') fails",
          pool,
          pool
        )
      )
    end
  end
  return target
end

function SOURCES:setup(data_files)
  record('sources:setup', data_files)
  if SOURCES.CONFIGURED then
    error('sources module has already been configured', 2)
  end
  check_params('sources:setup', data_files, T.list(T.any))
  local cached = kumo.memoize(load_sources_data, {
    name = 'sources_data',
    ttl = '5 minutes',
    capacity = 10,
    invalidate_with_epoch = since '2025.03.19' or nil,
  })
  -- Load now so that data errors surface at policy load (KumoMTA raises them on the first
  -- get_egress_source / get_egress_pool call instead).
  local data = cached(data_files)
  for pool, params in pairs(data.pools) do
    for _, entry in ipairs(params.entries) do
      if not data.sources[entry.name] then
        error(
          string.format(
            "sources helper: pool '%s' references source '%s' which is not defined (KumoMTA only prints this in --validate and fails when the pool is used)",
            pool,
            entry.name
          ),
          2
        )
      end
    end
  end
  SOURCES.CONFIGURED = {
    data_files = data_files,
    get_data = function()
      return cached(data_files)
    end,
  }
  STUB.owner = 'policy-extras.sources'
  kumo.on('get_egress_source', function(source_name)
    local d = cached(data_files)
    return kumo.make_egress_source(d.sources[source_name])
  end)
  kumo.on('get_egress_pool', function(pool_name)
    local d = cached(data_files)
    return kumo.make_egress_pool(d.pools[pool_name])
  end)
  STUB.owner = nil
end

local function sources_validate()
  if not SOURCES.CONFIGURED then
    return
  end
  local data = SOURCES.CONFIGURED.get_data()
  for _, params in pairs(data.sources) do
    local ok, err = pcall(kumo.make_egress_source, params)
    if not ok then
      print(tostring(err))
      kumo.validation_failed()
    end
  end
  for pool, params in pairs(data.pools) do
    local ok, err = pcall(kumo.make_egress_pool, params)
    if not ok then
      print(tostring(err))
      kumo.validation_failed()
    end
    for _, entry in ipairs(params.entries) do
      if not data.sources[entry.name] then
        print(string.format("pool '%s' references source '%s' which is not defined", pool, entry.name))
      end
    end
  end
end

---------------------------------------------------------------------------------------------
-- policy-extras.dkim_sign
---------------------------------------------------------------------------------------------

local DKIM = {}
local DKIM_PATH = '/opt/kumomta/etc/dkim'

local DOMAIN_POLICY = T.enum('DomainSigningPolicy', { 'Always' })
local SIGNATURE_POLICY = T.enum('SignatureSigningPolicy', { 'Always', 'OnlyIfMissingDomainBlock' })
local SIGNING_ALGO = T.enum('SigningAlgo', { 'sha256', 'ed25519' })
local function dkim_common()
  return {
    selector = T.string,
    headers = T.list(T.string),
    algo = SIGNING_ALGO,
    expiration = T.f64,
    filename = T.string,
    header_canonicalization = T.string,
    body_canonicalization = T.string,
    over_sign = T.bool,
  }
end
local DKIM_BASE = T.record('DkimSignConfig.Base', {
  vault_mount = T.string,
  vault_path_prefix = T.string,
  additional_signatures = T.list(T.string),
  policy = DOMAIN_POLICY,
  selector = T.string,
  expiration = T.f64,
  headers = T.list(T.string),
  header_canonicalization = T.string,
  body_canonicalization = T.string,
  over_sign = T.bool,
})
local DKIM_DOMAIN_FIELDS = dkim_common()
DKIM_DOMAIN_FIELDS.policy = DOMAIN_POLICY
local DKIM_SIGNATURE_FIELDS = dkim_common()
DKIM_SIGNATURE_FIELDS.policy = SIGNATURE_POLICY
DKIM_SIGNATURE_FIELDS.domain = { T.string, required = true }
local DKIM_CONFIG = T.record('DkimSignConfig', {
  base = DKIM_BASE,
  domain = T.map(T.record('DkimSignConfig.Domain', DKIM_DOMAIN_FIELDS)),
  signature = T.map(T.record('DkimSignConfig.Signature', DKIM_SIGNATURE_FIELDS)),
})

local function load_dkim_data(files)
  local data = { base = {}, domain = {}, signature = {} }
  for _, file_name in ipairs(files) do
    local d = load_json_or_toml_file(file_name)
    local where = type(file_name) == 'table' and '(inline table)' or file_name
    local e = DKIM_CONFIG(d)
    if e then
      error(string.format('dkim_sign helper: %s: %s', where, e), 0)
    end
    merge_into(d.base, data.base)
    for name, params in pairs(d.domain or {}) do
      data.domain[name] = data.domain[name] or {}
      merge_into(params, data.domain[name])
    end
    for name, params in pairs(d.signature or {}) do
      data.signature[name] = data.signature[name] or {}
      merge_into(params, data.signature[name])
    end
  end
  for _, signame in ipairs(data.base.additional_signatures or {}) do
    if not data.signature[signame] then
      error(
        string.format(
          "dkim policy lists base.additional_signature '%s' but that signature is not defined in any signature block",
          signame
        ),
        0
      )
    end
  end
  for name, domain in pairs(data.domain) do
    if not data.base.selector and not domain.selector then
      error(
        string.format(
          "dkim domain '%s' is missing a selector and no default selector is defined in base",
          name
        ),
        0
      )
    end
  end
  return data
end

local function dkim_params(base, config, domain)
  local params = {
    domain = domain,
    selector = config.selector or base.selector,
    headers = config.headers or base.headers,
    header_canonicalization = config.header_canonicalization or base.header_canonicalization,
    body_canonicalization = config.body_canonicalization or base.body_canonicalization,
    expiration = config.expiration or base.expiration,
    over_sign = config.over_sign,
  }
  if params.over_sign == nil then
    params.over_sign = base.over_sign
  end
  if base.vault_mount then
    params.key = {
      vault_mount = base.vault_mount,
      vault_path = config.filename
        or string.format('%s/%s/%s.key', base.vault_path_prefix or 'dkim', domain, params.selector),
    }
  else
    params.key = config.filename or string.format('%s/%s/%s.key', DKIM_PATH, domain, params.selector)
  end
  return params
end

local function dkim_make_signer(params, algo)
  algo = algo or 'sha256'
  record('dkim_signer', params, algo)
  if algo == 'sha256' then
    return kumo.dkim.rsa_sha256_signer(params)
  end
  return kumo.dkim.ed25519_signer(params)
end

local function do_dkim_sign(msg, data)
  local from = msg:from_header()
  if not from then
    kumo.reject(552, '5.6.0 DKIM signing requires a From header, but it is missing from this message')
  end
  local base = data.base
  local signed_domain = false
  local domain_config = domain_map_lookup(data.domain, from.domain)
  if domain_config then
    local signer = dkim_make_signer(dkim_params(base, domain_config, from.domain), domain_config.algo)
    msg:dkim_sign(signer)
    signed_domain = true
  end
  for _, signame in ipairs(base.additional_signatures or {}) do
    local sig = data.signature[signame]
    if not (sig.policy == 'OnlyIfMissingDomainBlock' and signed_domain) then
      local signer = dkim_make_signer(dkim_params(base, sig, sig.domain), sig.algo)
      msg:dkim_sign(signer)
    end
  end
end

function DKIM:setup(files)
  record('dkim_sign:setup', files)
  check_params('dkim_sign:setup', files, T.list(T.any))
  local cached = kumo.memoize(load_dkim_data, {
    name = 'dkim_signing_data',
    ttl = '5 minutes',
    capacity = 10,
    invalidate_with_epoch = since '2025.03.19' or nil,
  })
  cached(files) -- surface data errors at load (KumoMTA: at the first signing)
  DKIM.CONFIGURED = {
    files = files,
    get_data = function()
      return cached(files)
    end,
  }
  return function(msg)
    record('dkim_sign:signer', msg)
    do_dkim_sign(msg, cached(files))
  end
end

local function dkim_validate()
  if not DKIM.CONFIGURED then
    return
  end
  local data = DKIM.CONFIGURED.get_data()
  local referenced = {}
  for _, s in ipairs(data.base.additional_signatures or {}) do
    referenced[s] = true
  end
  for name in pairs(data.signature) do
    if not referenced[name] then
      print(string.format("signature '%s' is defined but not listed in base.additional_signatures", name))
      kumo.validation_failed()
    end
  end
  for _, domain in ipairs(sorted_keys(data.domain)) do
    if not domain:find('*', 1, true) then
      local config = data.domain[domain]
      local ok, err = pcall(dkim_make_signer, dkim_params(data.base, config, domain), config.algo)
      if not ok then
        print(string.format("dkim domain '%s': %s", domain, tostring(err)))
        kumo.validation_failed()
      end
    end
  end
end

---------------------------------------------------------------------------------------------
-- Shaping data (kumo.shaping.load) and policy-extras.shaping
---------------------------------------------------------------------------------------------

local DEFAULT_SHAPING_FILE = '/opt/kumomta/share/policy-extras/shaping.toml'
local COMMUNITY_SHAPING_FILE = '/opt/kumomta/share/community/shaping.toml'

-- The `["default"]` block of the bundled file (the provider blocks are not reproduced).
local BUILTIN_DEFAULT_SHAPING = {
  default = {
    connection_limit = 10,
    max_connection_rate = '100/min',
    max_deliveries_per_connection = 100,
    max_message_rate = '100/s',
    idle_timeout = '60s',
    data_timeout = '30s',
    data_dot_timeout = '60s',
    enable_tls = 'Opportunistic',
    consecutive_connection_failures_before_delay = 100,
  },
}

local SIMPLE_ACTIONS = {
  Suspend = true,
  SuspendTenant = since '2024.06.10',
  SuspendCampaign = since '2024.06.10',
  Bounce = since '2025.01.23',
  BounceTenant = since '2025.01.23',
  BounceCampaign = since '2025.01.23',
}

local function check_action(a)
  if type(a) == 'string' then
    if SIMPLE_ACTIONS[a] then
      return
    end
    return string.format('unknown variant `%s` for Action', a)
  end
  if type(a) ~= 'table' then
    return invalid_type(a, 'enum Action')
  end
  if is_array(a) and next(a) ~= nil then
    for i, x in ipairs(a) do
      local e = check_action(x)
      if e then
        return string.format('[%d]: %s', i, e)
      end
    end
    return
  end
  local k, v = next(a)
  if next(a, k) ~= nil or (k ~= 'SetConfig' and k ~= 'SetDomainConfig') then
    return 'invalid Action: expected "Suspend", {SetConfig={name=,value=}}, ...'
  end
  if k == 'SetDomainConfig' and not since '2024.11.08' then
    return 'unknown variant `SetDomainConfig` (since 2024.11.08)'
  end
  local e = T.record(k, { name = { T.string, required = true }, value = { T.any, required = true } })(v)
  if e then
    return e
  end
  e = egress_path_field(v.name, v.value)
  if e then
    return string.format('%s: %s', k, e)
  end
end

local RULE = T.record('Rule', {
  regex = { T.one_of(T.string, T.list(T.string)), required = true },
  action = { check_action, required = true },
  trigger = function(v)
    if v == 'Immediate' then
      return
    end
    return T.record('Trigger', { Threshold = { T.rate, required = true } })(v)
  end,
  duration = { T.duration, required = true },
  match_internal = { T.bool, since = '2024.11.08' },
})

local PROVIDER_MATCH = function(v)
  if type(v) ~= 'table' then
    return invalid_type(v, 'enum ProviderMatch')
  end
  local k, x = next(v)
  if not k or next(v, k) ~= nil then
    return 'expected exactly one of MXSuffix, DomainSuffix, HostName'
  end
  if k == 'MXSuffix' or k == 'DomainSuffix' or (k == 'HostName' and since '2025.01.23') then
    return T.string(x)
  end
  return string.format('unknown variant `%s`, expected one of `MXSuffix`, `DomainSuffix`, `HostName`', k)
end

local function validate_shaping_block(key, block, is_provider)
  if type(block) ~= 'table' or is_array(block) then
    return invalid_type(block, 'a table of shaping options')
  end
  for _, k in ipairs(sorted_keys(block)) do
    local v = block[k]
    local e
    if k == 'mx_rollup' and not is_provider then
      e = T.bool(v)
    elseif k == 'replace_base' then
      e = T.bool(v)
    elseif k == 'automation' then
      e = T.list(RULE)(v)
    elseif k == 'sources' then
      local fields = EGRESS_PATH_FIELDS
      if is_provider then
        fields = {}
        merge_into(EGRESS_PATH_FIELDS, fields)
        fields.provider_source_selection_rate = { T.rate, since = '2025.03.19' }
      end
      e = T.map(T.record('EgressPathConfig', fields))(v)
    elseif is_provider and k == 'match' then
      e = T.list(PROVIDER_MATCH)(v)
    elseif is_provider and k == 'provider_connection_limit' then
      e = T.limit(v)
    elseif is_provider and k == 'provider_max_message_rate' then
      e = T.rate(v)
    else
      e = EGRESS_PATH { [k] = v }
    end
    if e then
      return string.format('%s: %s', key, e)
    end
  end
end

local function new_entry()
  return { params = {}, automation = {}, sources = {} }
end

local function merge_entry(dest, block, skip)
  if block.replace_base then
    dest.params, dest.automation, dest.sources = {}, {}, {}
  end
  for k, v in pairs(block) do
    if not skip[k] then
      dest.params[k] = deepcopy(v)
    end
  end
  for _, rule in ipairs(block.automation or {}) do
    table.insert(dest.automation, deepcopy(rule))
  end
  for src, p in pairs(block.sources or {}) do
    dest.sources[src] = dest.sources[src] or {}
    merge_into(deepcopy(p), dest.sources[src])
  end
end

local BLOCK_SKIP = { mx_rollup = true, replace_base = true, automation = true, sources = true }
local PROVIDER_SKIP = {
  replace_base = true,
  automation = true,
  sources = true,
  match = true,
  provider_connection_limit = true,
  provider_max_message_rate = true,
}

local SHAPING_METHODS = {}

local function merge_path_params(dest, src)
  for k, v in pairs(src or {}) do
    if
      (k == 'additional_connection_limits' or k == 'additional_message_rate_throttles' or k == 'additional_source_selection_rates')
      and type(v) == 'table'
    then
      dest[k] = dest[k] or {}
      merge_into(deepcopy(v), dest[k])
    elseif k ~= 'provider_source_selection_rate' then
      dest[k] = deepcopy(v)
    end
  end
end

local function mx_site(domain)
  local m = STUB.mx[domain]
  return m and m.site or domain
end

local function provider_matches(p, domain)
  local hosts = (STUB.mx[domain] or {}).hosts or {}
  for _, rule in ipairs(p.match or {}) do
    if rule.DomainSuffix and ends_with(domain, rule.DomainSuffix) then
      return true
    end
  end
  if #hosts == 0 then
    return false
  end
  for _, host in ipairs(hosts) do
    local ok = false
    for _, rule in ipairs(p.match or {}) do
      if (rule.MXSuffix and ends_with(host, rule.MXSuffix)) or (rule.HostName and host == rule.HostName) then
        ok = true
      end
    end
    if not ok then
      return false
    end
  end
  return true
end

-- The domains of loaded shaping data whose entries roll up by MX site, sorted: computed once
-- per loaded data (which is never changed after loading), not once per call, so a lookup
-- does not sort every domain of a 100,000-domain deployment (tests/it/scale.rs).
local ROLLUP_DOMAINS = setmetatable({}, { __mode = 'k' })
local function rollup_domains(d)
  local list = ROLLUP_DOMAINS[d]
  if not list then
    list = {}
    for _, dom in ipairs(sorted_keys(d.domains)) do
      if d.domains[dom].mx_rollup then
        table.insert(list, dom)
      end
    end
    ROLLUP_DOMAINS[d] = list
  end
  return list
end

function SHAPING_METHODS:get_egress_path_config(domain, source, site)
  record('shaping:get_egress_path_config', domain, source, site)
  local d = rawget(self, '__data')
  local params = {}
  merge_path_params(params, d.default.params)
  local matched = {}
  for _, name in ipairs(d.provider_order) do
    local p = d.providers[name]
    if provider_matches(p, domain) then
      table.insert(matched, name)
      merge_path_params(params, p.params)
      params.provider_name = params.provider_name or name
      if p.provider_connection_limit then
        params.additional_connection_limits = params.additional_connection_limits or {}
        params.additional_connection_limits[string.format('shaping-provider-%s-%s-limit', name, source)] =
          p.provider_connection_limit
      end
      if p.provider_max_message_rate then
        params.additional_message_rate_throttles = params.additional_message_rate_throttles or {}
        params.additional_message_rate_throttles[string.format('shaping-provider-%s-%s-rate', name, source)] =
          p.provider_max_message_rate
      end
    end
  end
  for _, name in ipairs(matched) do
    local p = d.providers[name]
    local sp = p.sources[source]
    if sp then
      merge_path_params(params, sp)
      if sp.provider_source_selection_rate then
        params.additional_source_selection_rates = params.additional_source_selection_rates or {}
        params.additional_source_selection_rates[string.format('shaping-provider-%s-%s-sel-rate', name, source)] =
          sp.provider_source_selection_rate
      end
    end
  end
  local site_entries = {}
  for _, dom in ipairs(rollup_domains(d)) do
    local entry = d.domains[dom]
    if site and mx_site(dom) == site then
      table.insert(site_entries, entry)
      merge_path_params(params, entry.params)
    end
  end
  local dom_entry = d.domains[domain]
  if dom_entry and not dom_entry.mx_rollup then
    merge_path_params(params, dom_entry.params)
  else
    dom_entry = nil
  end
  for _, entry in ipairs(site_entries) do
    merge_path_params(params, entry.sources[source])
  end
  if dom_entry then
    merge_path_params(params, dom_entry.sources[source])
  end
  return params
end

function SHAPING_METHODS:get_errors()
  return deepcopy(rawget(self, '__data').errors)
end
function SHAPING_METHODS:get_warnings()
  return deepcopy(rawget(self, '__data').warnings)
end
function SHAPING_METHODS:hash()
  return rawget(self, '__data').hash
end
-- Without a regex engine, a rule "matches" a record when it is in scope for the record's
-- destination (default, provider, or domain/site block).
function SHAPING_METHODS:match_rules(log_record)
  local d = rawget(self, '__data')
  local out = {}
  local function add(list)
    for _, r in ipairs(list) do
      table.insert(out, r)
    end
  end
  add(d.default.automation)
  local domain = type(log_record) == 'table' and (log_record.recipient or ''):match '@(.+)$' or ''
  for _, name in ipairs(d.provider_order) do
    if provider_matches(d.providers[name], domain) then
      add(d.providers[name].automation)
    end
  end
  for dom, entry in pairs(d.domains) do
    if dom == domain or (entry.mx_rollup and log_record and mx_site(dom) == log_record.site) then
      add(entry.automation)
    end
  end
  return out
end
function SHAPING_METHODS:get_referenced_sources()
  local d = rawget(self, '__data')
  local refs = {}
  local function add(srcs, label)
    for src in pairs(srcs) do
      refs[src] = refs[src] or {}
      table.insert(refs[src], label)
    end
  end
  add(d.default.sources, 'domain:default')
  for dom, entry in pairs(d.domains) do
    add(entry.sources, 'domain:' .. dom)
  end
  for name, p in pairs(d.providers) do
    add(p.sources, 'provider:' .. name)
  end
  return refs
end

local shaping_load_counter = 0

shaping_load = function(paths, options)
  options = options or {}
  local d = {
    default = new_entry(),
    domains = {},
    providers = {},
    provider_order = {},
    errors = {},
    warnings = {},
    files = deepcopy(paths),
  }
  for _, path in ipairs(paths) do
    local data
    if path:match '^https?://' then
      -- no network here: a failed remote load is treated as empty by KumoMTA
      table.insert(d.warnings, string.format('remote shaping source %s not fetched (treated as empty)', path))
      data = {}
    elseif path == DEFAULT_SHAPING_FILE and not R.exists(path) then
      data = deepcopy(BUILTIN_DEFAULT_SHAPING)
    elseif path == COMMUNITY_SHAPING_FILE and not R.exists(path) then
      data = {}
    else
      local ok, loaded
      if path:match '%.toml$' then
        ok, loaded = pcall(R.toml_load, path)
      elseif path:match '%.json$' then
        ok, loaded = pcall(R.json_load, path)
      else
        ok, loaded = pcall(R.toml_load, path)
        if not ok then
          ok, loaded = pcall(R.json_load, path)
        end
      end
      if not ok then
        local level = options.local_load or 'Error'
        local msg = string.format('failed to load %s: %s', path, tostring(loaded))
        if level == 'Error' then
          error('kumo.shaping.load: ' .. msg, 0)
        elseif level == 'Warn' then
          table.insert(d.warnings, msg)
        end
        loaded = {}
      end
      data = loaded
    end
    for _, key in ipairs(sorted_keys(data)) do
      local block = data[key]
      if key == 'provider' then
        local e = T.map(T.any)(block)
        if e then
          error(string.format('kumo.shaping.load: %s: provider: %s', path, e), 0)
        end
        for _, name in ipairs(sorted_keys(block)) do
          local pe = validate_shaping_block(string.format('provider.%s', name), block[name], true)
          if pe then
            error(string.format('kumo.shaping.load: %s: %s', path, pe), 0)
          end
          local p = d.providers[name]
          if not p then
            p = new_entry()
            d.providers[name] = p
            table.insert(d.provider_order, name)
          end
          if block[name].replace_base then
            p.match, p.provider_connection_limit, p.provider_max_message_rate = nil, nil, nil
          end
          merge_entry(p, block[name], PROVIDER_SKIP)
          p.match = deepcopy(block[name].match) or p.match
          p.provider_connection_limit = block[name].provider_connection_limit or p.provider_connection_limit
          p.provider_max_message_rate = block[name].provider_max_message_rate or p.provider_max_message_rate
        end
      else
        local e = validate_shaping_block(string.format('domain "%s"', key), block, false)
        if e then
          error(string.format('kumo.shaping.load: %s: %s', path, e), 0)
        end
        if key == 'default' then
          merge_entry(d.default, block, BLOCK_SKIP)
        else
          if not key:find('.', 1, true) and not key:find(':', 1, true) then
            table.insert(d.warnings, string.format('%s: domain key "%s" has a single label; did you mean a quoted ["%s.tld"]?', path, key, key))
          end
          local entry = d.domains[key] or new_entry()
          merge_entry(entry, block, BLOCK_SKIP)
          if block.mx_rollup ~= nil then
            entry.mx_rollup = block.mx_rollup
          elseif entry.mx_rollup == nil then
            entry.mx_rollup = true
          end
          d.domains[key] = entry
        end
      end
    end
  end
  shaping_load_counter = shaping_load_counter + 1
  d.hash = 'stub-shaping-' .. shaping_load_counter
  return setmetatable({ __data = d }, {
    __kumo_type = 'Shaping',
    __name = 'Shaping',
    __index = SHAPING_METHODS,
    __stub_repr = function(s)
      local data = rawget(s, '__data')
      return {
        type = 'Shaping',
        files = deepcopy(data.files),
        domains = sorted_keys(data.domains),
        providers = deepcopy(data.provider_order),
      }
    end,
  })
end

local SHAPING = {}

local UNINTERESTING_LOG_RECORD_TYPES = {
  Reception = true,
  AdminRebind = true,
  DeferredInjectionRebind = true,
  Delayed = true,
}

local SHAPING_OPTIONS = T.record('shaping:setup_with_automation options', {
  publish = T.list(T.string),
  subscribe = T.list(T.string),
  extra_files = T.list(T.string),
  no_default_files = T.bool,
  tsa_queue_config = T.map(T.any),
  back_pressure = { T.usize, since = '2025.03.19' },
  pre_filter = T.bool,
  load_validation_options = SHAPING_MERGE_OPTIONS,
  validation_options = SHAPING_MERGE_OPTIONS,
  cache_ttl = T.duration,
  publish_timeout = T.duration,
  publish_pool_idle_timeout = T.duration,
  publish_connection_verbose = T.bool,
  shaping_data_populate_timeout = { T.duration, since = '2025.05.06' },
  retry_shaping_data_fetch_on_populate_timeout = { T.bool, since = '2025.05.06' },
  allow_stale_shaping_data = { T.bool, since = '2025.05.06' },
  skip_log_record_types = { T.list(RECORD_TYPE), since = '2026.06.23' },
  additional_skip_log_record_types = { T.list(RECORD_TYPE), since = '2026.06.23' },
})

local function shaping_should_enq(publish, msg, hook_name, options)
  if not publish[hook_name] then
    return -- a user log hook: defer
  end
  local log_record = msg:get_meta 'log_record'
  if type(log_record) ~= 'table' then
    error("should_enqueue_log_record: message meta 'log_record' is missing", 0)
  end
  if log_record.reception_protocol == 'LogRecord' then
    return false
  end
  for name in pairs(publish) do
    if name == log_record.queue then
      return false
    end
  end
  local skip = UNINTERESTING_LOG_RECORD_TYPES
  if options.skip_log_record_types then
    skip = {}
    for _, t in ipairs(options.skip_log_record_types) do
      skip[t] = true
    end
  end
  for _, t in ipairs(options.additional_skip_log_record_types or {}) do
    skip[t] = true
  end
  if skip[log_record.type] then
    return false
  end
  if options.pre_filter then
    local ok, result = pcall(function()
      return #SHAPING.CONFIGURED.load_shaping_data():match_rules(log_record) > 0
    end)
    if not ok or not result then
      return false
    end
  end
  msg:set_meta('queue', hook_name)
  return true
end

function SHAPING:setup_with_automation(options)
  record('shaping:setup_with_automation', options)
  if SHAPING.CONFIGURED then
    error('shaping module has already been configured', 2)
  end
  check_params('shaping:setup_with_automation', options, SHAPING_OPTIONS)
  options = deepcopy(options)
  if options.pre_filter == nil then
    options.pre_filter = true
  end
  if options.tsa_queue_config then
    local p = { retry_interval = '1m', max_retry_interval = '20m' }
    merge_into(options.tsa_queue_config, p)
    p.protocol = { custom_lua = { constructor = 'make.x' } }
    check_params('shaping:setup_with_automation tsa_queue_config', p, QUEUE_CONFIG)
  end
  local cached = kumo.memoize(function(file_names, validation_options)
    local result = kumo.shaping.load(file_names, validation_options)
    local log_error = rawget(kumo, 'log_error') or print
    local log_warn = rawget(kumo, 'log_warn') or print
    for _, e in ipairs(result:get_errors()) do
      log_error(e)
    end
    for _, w in ipairs(result:get_warnings()) do
      log_warn(w)
    end
    return result
  end, {
    name = 'shaping_data',
    ttl = options.cache_ttl or '1 minute',
    capacity = 4,
    invalidate_with_epoch = since '2025.03.19' or nil,
  })

  local file_names = {}
  if not options.no_default_files then
    table.insert(file_names, DEFAULT_SHAPING_FILE)
  end
  for _, f in ipairs(options.extra_files or {}) do
    table.insert(file_names, f)
  end
  for _, url in ipairs(options.subscribe or {}) do
    table.insert(file_names, string.format('%s/get_config_v1/shaping.toml', url))
  end

  local publish = {}
  local publish_order = {}
  STUB.owner = 'policy-extras.shaping'
  for _, destination in ipairs(options.publish or {}) do
    local hook_name = string.format('%s.tsa.kumomta', destination)
    local constructor = string.format('make.%s', hook_name)
    publish[hook_name] = { endpoint = destination, hook_name = hook_name, constructor = constructor }
    table.insert(publish_order, hook_name)
    kumo.on(constructor, function(domain, _tenant, _campaign)
      local connection = {}
      function connection:send(message)
        record('tsa:publish_log_v1', destination .. '/publish_log_v1', message)
        return '200 OK: stub'
      end
      return connection
    end)
  end

  local function load_shaping_data()
    return cached(file_names, options.load_validation_options)
  end

  -- Load now so that shaping data errors surface at policy load (KumoMTA raises them on
  -- every get_egress_path_config call instead).
  load_shaping_data()

  local function setup_publish()
    record 'shaper.setup_publish'
    in_event('shaper.setup_publish', 'init')
    for _, hook_name in ipairs(publish_order) do
      kumo.configure_log_hook {
        name = hook_name,
        per_record = {
          Reception = { enable = false },
          Rejection = { enable = false },
        },
        back_pressure = options.back_pressure,
      }
    end
    if options.subscribe then
      for _, url in ipairs(options.subscribe) do
        kumo.spawn_task { event_name = 'kumo.tsa.suspension.subscriber', args = { url } }
      end
      kumo.spawn_task { event_name = 'kumo.tsa.config.monitor', args = {} }
    end
  end

  local function get_egress_path_config(domain, egress_source, site_name, skip_make)
    record('shaper.get_egress_path_config', domain, egress_source, site_name)
    local params = load_shaping_data():get_egress_path_config(domain, egress_source, site_name)
    if not params.refresh_strategy then
      params.refresh_strategy = 'Epoch'
    end
    if skip_make then
      return params
    end
    return kumo.make_egress_path(params)
  end

  kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
    local data = publish[domain]
    if data then
      local params = { retry_interval = '1m', max_retry_interval = '20m' }
      merge_into(options.tsa_queue_config, params)
      params.protocol = { custom_lua = { constructor = data.constructor } }
      return kumo.make_queue_config(params)
    end
  end)
  kumo.on('should_enqueue_log_record', function(msg, hook_name)
    return shaping_should_enq(publish, msg, hook_name, options)
  end)
  STUB.owner = nil

  SHAPING.CONFIGURED = {
    _file_names = file_names,
    _options = options,
    load_shaping_data = load_shaping_data,
    get_egress_path_config = get_egress_path_config,
    setup_publish = setup_publish,
  }
  return SHAPING.CONFIGURED
end

function SHAPING:setup(extra_files)
  record('shaping:setup', extra_files)
  check_params('shaping:setup', extra_files, T.list(T.string))
  return self:setup_with_automation({
    extra_files = extra_files,
    publish = {},
    subscribe = {},
  }).get_egress_path_config
end

local function shaping_validate()
  if not SHAPING.CONFIGURED then
    return
  end
  local result = kumo.shaping.load(
    SHAPING.CONFIGURED._file_names,
    SHAPING.CONFIGURED._options.validation_options
      or {
        aliased_site = 'Warn',
        dns_fail = 'Warn',
        local_load = 'Error',
        null_mx = 'Warn',
        provider_overlap = 'Warn',
        remote_load = 'Ignore',
        skip_remote = true,
      }
  )
  local errors = result:get_errors()
  if #errors > 0 then
    kumo.validation_failed()
    for _, e in ipairs(errors) do
      print('ERROR: ' .. e)
    end
  end
  for _, w in ipairs(result:get_warnings()) do
    print('WARNING: ' .. w)
  end
  if SOURCES.CONFIGURED then
    local source_data = SOURCES.CONFIGURED.get_data()
    for source, refs in pairs(result:get_referenced_sources()) do
      if not (source == 'my source name' and refs[1] == 'domain:example.com') then
        if not source_data.sources[source] then
          kumo.validation_failed()
          print(
            string.format(
              "Source '%s' is not present in your sources helper data. Referenced by %s",
              source,
              table.concat(refs, ', ')
            )
          )
        end
      end
    end
  end
end

---------------------------------------------------------------------------------------------
-- policy-extras.queue
---------------------------------------------------------------------------------------------

local QUEUE = {}

-- Is (name, value) a valid make_queue_config option? A valid name with a bad value raises
-- (the helper does `error(err, 3)` on 'invalid type'); an unknown name returns false.
local function is_queue_config_option(name, value)
  local def = QUEUE_CONFIG_FIELDS[name]
  if def == nil then
    return false
  end
  local d = norm_field(def)
  if d.since and not since(d.since) then
    return false
  end
  local e = d.check(value)
  if e then
    error(string.format('invalid queue config option `%s`: %s', name, e), 0)
  end
  return true
end

local QUEUE_TOP = {
  scheduling_header = T.string,
  tenant_header = T.string,
  remove_tenant_header = T.bool,
  campaign_header = T.string,
  remove_campaign_header = T.bool,
  default_tenant = T.string,
}

-- Parse one option-or-child table. `extra` are the helper-level keys allowed at this level.
local function parse_queue_level(where, data, extra, child_kind)
  local options, children = {}, {}
  if type(data) ~= 'table' or (next(data) ~= nil and is_array(data)) then
    error(string.format('queue helper: %s: %s', where, invalid_type(data, 'a table')), 0)
  end
  for _, k in ipairs(sorted_keys(data)) do
    local v = data[k]
    if extra[k] then
      local e = extra[k](v)
      if e then
        error(string.format('queue helper: %s: field `%s`: %s', where, k, e), 0)
      end
      options[k] = deepcopy(v)
    else
      local ok, res = pcall(is_queue_config_option, k, v)
      if not ok then
        error(string.format('queue helper: %s: %s', where, res), 0)
      end
      if res then
        options[k] = deepcopy(v)
      elseif child_kind and type(v) == 'table' then
        children[k] = v
      elseif child_kind then
        error(
          string.format(
            'queue helper: %s: `%s` is not a queue option (the helper takes any unknown key here as a %s name, so a misspelled option is silently misread)',
            where,
            k,
            child_kind
          ),
          0
        )
      else
        error(string.format("queue helper: %s: unknown field '%s'", where, k), 0)
      end
    end
  end
  return options, children
end

local HELPER_RATE = function(v)
  return T.rate(v)
end

local function load_queue_data(file_names)
  local result = { options = {}, tenants = {}, queues = {} }
  for _, file_name in ipairs(file_names) do
    local data = load_json_or_toml_file(file_name)
    local where = type(file_name) == 'table' and '(inline table)' or file_name
    for _, k in ipairs(sorted_keys(data)) do
      local v = data[k]
      if k == 'tenant' then
        local e = T.map(T.any)(v)
        if e then
          error(string.format('queue helper: %s: tenant: %s', where, e), 0)
        end
        for tname, topts in pairs(v) do
          local opts, _ = parse_queue_level(
            string.format("%s: [tenant.'%s']", where, tname),
            topts,
            {
              require_authz = T.list(T.string),
              overall_max_message_rate = HELPER_RATE,
              campaigns = T.map(T.any),
            },
            nil
          )
          for cname, copts in pairs(opts.campaigns or {}) do
            parse_queue_level(
              string.format("%s: [tenant.'%s'.campaigns.'%s']", where, tname, cname),
              copts,
              { overall_max_message_rate = HELPER_RATE, routing_domain = T.string },
              nil
            )
          end
          result.tenants[tname] = result.tenants[tname] or {}
          merge_into(opts, result.tenants[tname])
        end
      elseif k == 'queue' then
        local e = T.map(T.any)(v)
        if e then
          error(string.format('queue helper: %s: queue: %s', where, e), 0)
        end
        for dname, dopts in pairs(v) do
          local dwhere = string.format("%s: [queue.'%s']", where, dname)
          local opts, tenants = parse_queue_level(
            dwhere,
            dopts,
            { overall_max_message_rate = HELPER_RATE, routing_domain = T.string },
            'tenant'
          )
          local entry = result.queues[dname] or { options = {}, tenants = {} }
          merge_into(opts, entry.options)
          for tname, topts in pairs(tenants) do
            local twhere = string.format("%s: [queue.'%s'.'%s']", where, dname, tname)
            local tentry = entry.tenants[tname] or { options = {}, campaigns = {} }
            local o, campaigns = parse_queue_level(
              twhere,
              topts,
              { overall_max_message_rate = HELPER_RATE, routing_domain = T.string },
              'campaign'
            )
            merge_into(o, tentry.options)
            for cname, copts in pairs(campaigns) do
              local co, _ = parse_queue_level(
                string.format("%s: [queue.'%s'.'%s'.'%s']", where, dname, tname, cname),
                copts,
                { overall_max_message_rate = HELPER_RATE, routing_domain = T.string },
                nil
              )
              tentry.campaigns[cname] = tentry.campaigns[cname] or {}
              merge_into(co, tentry.campaigns[cname])
            end
            entry.tenants[tname] = tentry
          end
          result.queues[dname] = entry
        end
      elseif QUEUE_TOP[k] then
        local e = QUEUE_TOP[k](v)
        if e then
          error(string.format("queue helper: %s: QueueHelperConfig: invalid value for field '%s': %s", where, k, e), 0)
        end
        result.options[k] = v
      else
        error(string.format("queue helper: %s: QueueHelperConfig: unknown field '%s'", where, k), 0)
      end
    end
  end
  -- The trap check: every [queue.D.T] must name a defined tenant.
  for _, dname in ipairs(sorted_keys(result.queues)) do
    for _, tname in ipairs(sorted_keys(result.queues[dname].tenants)) do
      if not result.tenants[tname] then
        error(
          string.format(
            "queue helper: [queue.'%s'.'%s']: '%s' is not a tenant defined in [tenant.*] (any unknown table key in [queue.D] is taken as a tenant name)",
            dname,
            tname,
            tname
          ),
          0
        )
      end
    end
  end
  if result.options.default_tenant and not result.tenants[result.options.default_tenant] then
    warn(
      string.format(
        "queue helper: default_tenant '%s' is not defined in [tenant.*]; every message without a tenant header is rejected with 500",
        result.options.default_tenant
      )
    )
  end
  return result
end

local function queue_resolve(data, domain, tenant, campaign, allow_all)
  local params = { refresh_strategy = 'Epoch' }
  local function layer(opts)
    for k, v in pairs(opts or {}) do
      if allow_all or is_queue_config_option(k, v) then
        params[k] = deepcopy(v)
      end
    end
  end
  local default = data.queues.default
  layer(default and default.options)
  local dom = domain_map_lookup(data.queues, domain)
  layer(dom and dom.options)
  local tdef = tenant and data.tenants[tenant]
  if tdef then
    local copy = {}
    for k, v in pairs(tdef) do
      if k ~= 'campaigns' and k ~= 'require_authz' then
        copy[k] = v
      end
    end
    layer(copy)
  end
  local tcfg = dom and tenant and dom.tenants[tenant]
  if tcfg then
    layer(tcfg.options)
    local c = campaign and tcfg.campaigns[campaign]
    layer(c)
  end
  return params
end

local function queue_apply(msg, data)
  local o = data.options
  if o.scheduling_header then
    msg:import_scheduling_header(o.scheduling_header, true)
  end
  if o.campaign_header then
    local campaign = msg:get_first_named_header_value(o.campaign_header)
    if campaign then
      msg:set_meta('campaign', campaign)
      if o.remove_campaign_header then
        msg:remove_all_named_headers(o.campaign_header)
      end
    end
  end
  local tenant, tenant_source
  if o.tenant_header then
    tenant = msg:get_first_named_header_value(o.tenant_header)
    if tenant then
      tenant_source = string.format("'%s' header", o.tenant_header)
      if o.remove_tenant_header then
        msg:remove_all_named_headers(o.tenant_header)
      end
    end
  end
  if not tenant and o.default_tenant then
    tenant = o.default_tenant
    tenant_source = 'default_tenant option'
  end
  if tenant then
    local tenant_config = data.tenants[tenant]
    if not tenant_config then
      kumo.reject(
        500,
        string.format("tenant '%s' specified by %s is not defined in your queue config", tenant, tenant_source)
      )
    end
    if tenant_config.require_authz then
      local my_auth = msg:get_meta 'authz_id'
      if not my_auth then
        kumo.reject(500, string.format("tenant '%s' requires SMTP AUTH", tenant))
      end
      local found = false
      for _, a in ipairs(tenant_config.require_authz) do
        if a == my_auth then
          found = true
        end
      end
      if not found then
        kumo.reject(
          500,
          string.format("authz_id '%s' is not authorized to send as tenant '%s'", my_auth, tenant)
        )
      end
    end
    msg:set_meta('tenant', tenant)
  end
  local recip = msg:recipient()
  if recip then
    local composed = queue_resolve(data, recip.domain, msg:get_meta 'tenant', msg:get_meta 'campaign', true)
    if composed.routing_domain then
      msg:set_meta('routing_domain', composed.routing_domain)
    end
  end
end

local QUEUE_SETUP_OPTIONS = T.record('QueueHelperSetup', {
  file_names = { T.list(T.any), required = true },
  skip_queue_config_hook = T.bool,
  invalidate_with_epoch = { T.bool, since = '2026.04.09' },
})

function QUEUE:setup(file_names)
  record('queue:setup', file_names)
  check_params('queue:setup', file_names, T.list(T.any))
  return self:setup_with_options { skip_queue_config_hook = false, file_names = file_names }
end

function QUEUE:setup_with_options(options)
  record('queue:setup_with_options', options)
  if QUEUE.CONFIGURED then
    error('queues module has already been configured', 2)
  end
  check_params('queue:setup_with_options', options, QUEUE_SETUP_OPTIONS)
  local cached = kumo.memoize(load_queue_data, { name = 'queue_helper_data', ttl = '1 minute', capacity = 10 })
  cached(options.file_names) -- surface data errors at load
  local helper = { file_names = options.file_names }
  function helper:resolve_config(domain, tenant, campaign)
    return queue_resolve(cached(options.file_names), domain, tenant, campaign)
  end
  function helper:apply(msg)
    record('queue_helper:apply', msg)
    queue_apply(msg, cached(options.file_names))
  end
  QUEUE.CONFIGURED = {
    options = options,
    get_data = function()
      return cached(options.file_names)
    end,
  }
  STUB.owner = 'policy-extras.queue'
  if not options.skip_queue_config_hook then
    kumo.on('get_queue_config', function(domain, tenant, campaign, _routing_domain)
      local params = queue_resolve(cached(options.file_names), domain, tenant, campaign)
      return kumo.make_queue_config(params)
    end)
  end
  kumo.on('throttle_insert_ready_queue', function(msg)
    local tenant_name = msg:get_meta 'tenant'
    local campaign_name = msg:get_meta 'campaign'
    if tenant_name or campaign_name then
      local data = cached(options.file_names)
      local tenant = tenant_name and data.tenants[tenant_name]
      if tenant and tenant.overall_max_message_rate then
        local throttle = kumo.make_throttle(
          string.format('queue-helper-tenant-overall_max_message_rate-%s', tenant_name),
          tenant.overall_max_message_rate
        )
        if throttle:delay_message_if_throttled(msg) then
          return
        end
      end
      local campaign = tenant and tenant.campaigns and campaign_name and tenant.campaigns[campaign_name]
      if campaign and campaign.overall_max_message_rate then
        -- upstream bug kept: the campaign throttle is built from the TENANT rate
        local throttle = kumo.make_throttle(
          string.format(
            'queue-helper-tenant-campaign-overall_max_message_rate-%s-%s',
            tenant_name,
            campaign_name
          ),
          tenant.overall_max_message_rate or campaign.overall_max_message_rate
        )
        if throttle:delay_message_if_throttled(msg) then
          return
        end
      end
    end
  end)
  STUB.owner = nil
  return helper
end

local function queue_validate()
  if not QUEUE.CONFIGURED then
    return
  end
  local data = QUEUE.CONFIGURED.get_data()
  if SOURCES.CONFIGURED then
    local source_data = SOURCES.CONFIGURED.get_data()
    for tenant, t in pairs(data.tenants) do
      if t.egress_pool and not source_data.pools[t.egress_pool] then
        kumo.validation_failed()
        print(
          string.format(
            "tenant '%s' uses pool '%s' which is not present in your sources helper data",
            tenant,
            t.egress_pool
          )
        )
      end
    end
    for domain, d in pairs(data.queues) do
      if d.options.egress_pool and not source_data.pools[d.options.egress_pool] then
        kumo.validation_failed()
        print(
          string.format(
            "domain '%s' uses pool '%s' which is not present in your sources helper data",
            domain,
            d.options.egress_pool
          )
        )
      end
    end
  end
  for _, f in ipairs(QUEUE.CONFIGURED.options.file_names) do
    if type(f) == 'string' and not covered_by_monitor_globs(f) then
      kumo.validation_failed()
      print(string.format('queue data file %s is not covered by the config monitor globs', f))
    end
  end
  local last
  for _, reg in ipairs(STUB.registrations) do
    if reg.name == 'get_queue_config' then
      last = reg
    end
  end
  if QUEUE.CONFIGURED.options.skip_queue_config_hook ~= true and (not last or last.owner ~= 'policy-extras.queue') then
    kumo.validation_failed()
    print 'queue.lua is in use, but it is not the last module to register for the get_queue_config event.'
  end
end

---------------------------------------------------------------------------------------------
-- tsa module (tsa-daemon)
---------------------------------------------------------------------------------------------

local tsa = {}
function tsa.configure_tsa_db_path(path)
  record('tsa.configure_tsa_db_path', path)
  in_event('tsa.configure_tsa_db_path', 'tsa_init')
  check_params('tsa.configure_tsa_db_path', path, T.string)
  if STUB.tsa_listener_started then
    error('tsa.configure_tsa_db_path must be called before tsa.start_http_listener', 2)
  end
  STUB.tsa_db_path = path
end
function tsa.start_http_listener(params)
  record('tsa.start_http_listener', params)
  in_event('tsa.start_http_listener', 'tsa_init')
  check_params('tsa.start_http_listener', params, HTTP_LISTENER)
  STUB.tsa_listener_started = true
end
setmetatable(tsa, {
  __index = function(_, k)
    error(string.format('tsa.%s: no such function', tostring(k)), 2)
  end,
})

---------------------------------------------------------------------------------------------
-- Validation (kumod --validate) and checks after events
---------------------------------------------------------------------------------------------

function STUB.validate()
  STUB.validating = true
  _VALIDATING_CONFIG = true
  STUB.validation_failed = false
  local first_output = #STUB.output + 1
  local ok, err = pcall(STUB.fire, 'validate_config')
  STUB.validating = false
  _VALIDATING_CONFIG = nil
  if not ok then
    error(err, 0)
  end
  local out = {}
  for i = first_output, #STUB.output do
    table.insert(out, STUB.output[i])
  end
  return { failed = STUB.validation_failed, output = out }
end

post_fire = function(name)
  if name == 'init' and STUB.mode == 'kumod' and not STUB.validating then
    if STUB.init_fired then
      error('init fired twice: kumod runs it once per process', 0)
    end
    STUB.init_fired = true
    if next(STUB.spools) == nil then
      error('No spools have been defined (kumod cannot start its spool after init)', 0)
    end
    for _, needed in ipairs { 'data', 'meta' } do
      if not STUB.spools[needed] then
        error(string.format("no spool named '%s' has been defined", needed), 0)
      end
    end
  elseif name == 'tsa_init' then
    if not STUB.handlers.tsa_load_shaping_data then
      error("tsa-daemon needs a kumo.on('tsa_load_shaping_data', ...) handler", 0)
    end
  end
end

---------------------------------------------------------------------------------------------
-- policy-extras.log_hooks (assets/policy-extras/log_hooks.lua)
---------------------------------------------------------------------------------------------

local LOG_HOOKS = { CONFIGURED = {} }

local LOG_HOOK_OPTIONS = {
  name = true,
  log_parameters = true,
  queue_config = true,
  constructor = true,
}

function LOG_HOOKS:new(options)
  record('log_hooks:new', options)
  if type(options) ~= 'table' then
    error('LogHookOptions: ' .. invalid_type(options, 'a table'), 2)
  end
  for k in pairs(options) do
    if not LOG_HOOK_OPTIONS[k] then
      error(string.format("LogHookOptions: unknown field '%s'", tostring(k)), 2)
    end
  end
  if type(options.name) ~= 'string' then
    error('LogHookOptions.name: ' .. invalid_type(options.name, 'a string'), 2)
  end
  if type(options.constructor) ~= 'function' then
    error('LogHookOptions.constructor: ' .. invalid_type(options.constructor, 'a function'), 2)
  end
  if options.log_parameters ~= nil and type(options.log_parameters) ~= 'table' then
    error('LogHookOptions.log_parameters: ' .. invalid_type(options.log_parameters, 'a table'), 2)
  end
  -- QueueConfig: every key must be a make_queue_config option (typing's `_dynamic`).
  for k, v in pairs(options.queue_config or {}) do
    if not is_queue_config_option(k, v) then
      error(string.format("LogHookOptions.queue_config: '%s' is not a queue config option", tostring(k)), 2)
    end
  end
  if LOG_HOOKS.CONFIGURED[options.name] then
    error(string.format("log_hook with name '%s' has already been configured", options.name), 2)
  end
  LOG_HOOKS.CONFIGURED[options.name] = options
  local prev = STUB.owner
  STUB.owner = 'policy-extras.log_hooks'

  kumo.on('pre_init', function()
    local log_parameters = { name = options.name }
    merge_into(options.log_parameters, log_parameters)
    kumo.configure_log_hook(log_parameters)
  end)

  local domain_name = string.format('%s.log_hook', options.name)
  local constructor_name = string.format('make.%s', domain_name)

  kumo.on('should_enqueue_log_record', function(msg, hook_name)
    if hook_name ~= options.name then
      return
    end
    local log_record = msg:get_meta 'log_record'
    if log_record.reception_protocol == 'LogRecord' then
      return false
    end
    msg:set_meta('queue', domain_name)
    return true
  end)

  local queue_config = { retry_interval = '1m', max_retry_interval = '20m' }
  merge_into(options.queue_config, queue_config)
  queue_config.protocol = { custom_lua = { constructor = constructor_name } }

  kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
    if domain ~= domain_name then
      return
    end
    return kumo.make_queue_config(queue_config)
  end)

  kumo.on(constructor_name, options.constructor)
  STUB.owner = prev
end

---------------------------------------------------------------------------------------------
-- Environment: require, print, os.getenv, io.open
---------------------------------------------------------------------------------------------

local PRELOAD = { kumo = kumo }
if STUB.mode == 'kumod' then
  PRELOAD['policy-extras.sources'] = SOURCES
  PRELOAD['policy-extras.dkim_sign'] = DKIM
  PRELOAD['policy-extras.shaping'] = SHAPING
  PRELOAD['policy-extras.queue'] = QUEUE
  PRELOAD['policy-extras.log_hooks'] = LOG_HOOKS
else
  PRELOAD.tsa = tsa
end

-- The helpers register their validate_config handlers (and shaping its task events) when
-- they are first required, like the real modules do.
local MODULE_INIT = {
  ['policy-extras.sources'] = function()
    STUB.owner = 'policy-extras.sources'
    kumo.on('validate_config', sources_validate)
  end,
  ['policy-extras.dkim_sign'] = function()
    STUB.owner = 'policy-extras.dkim_sign'
    kumo.on('validate_config', dkim_validate)
  end,
  ['policy-extras.shaping'] = function(req)
    req 'policy-extras.sources'
    STUB.owner = 'policy-extras.shaping'
    kumo.on('kumo.tsa.config.monitor', function() end)
    kumo.on('kumo.tsa.suspension.subscriber', function() end)
    kumo.on('validate_config', shaping_validate)
  end,
  ['policy-extras.queue'] = function(req)
    STUB.owner = 'policy-extras.queue'
    kumo.on('validate_config', queue_validate)
  end,
  -- log_hooks requires the queue helper (for its queue config option check).
  ['policy-extras.log_hooks'] = function(req)
    req 'policy-extras.queue'
  end,
}

-- `require` is Lua's own: package.preload provides the modules, and a final searcher
-- rejects everything else (no package.path / cpath lookups).
package.path = ''
package.cpath = ''
-- (fill the existing table: the preload searcher holds a reference to it)
for name in pairs(package.preload) do
  package.preload[name] = nil
end
for name, m in pairs(PRELOAD) do
  package.preload[name] = function()
    record('require', name)
    local init = MODULE_INIT[name]
    if init then
      local prev = STUB.owner
      init(require)
      STUB.owner = prev
    end
    return m
  end
end
package.searchers = {
  package.searchers[1], -- the preload searcher
  function(name)
    return string.format(
      "\n\tthe kumoc stub provides no module '%s' (it provides: %s)",
      name,
      table.concat(sorted_keys(PRELOAD), ', ')
    )
  end,
}
_G.kumo = kumo

print = function(...)
  table.insert(STUB.output, to_string_args(...))
end

os.getenv = function(name)
  return STUB.env[name]
end
os.exit = function()
  error('os.exit is not allowed in a policy', 2)
end
os.execute = function()
  error('os.execute is not allowed in a policy', 2)
end
os.remove = function()
  error('os.remove is not allowed in a policy', 2)
end
os.rename = function()
  error('os.rename is not allowed in a policy', 2)
end

local real_io_open = io.open
io.open = function(path, mode)
  record('io.open', path, mode)
  if mode ~= nil and mode ~= 'r' and mode ~= 'rb' then
    error('io.open: the kumoc stub only allows reading files', 2)
  end
  return real_io_open(R.remap(path), mode)
end
io.lines = function(path, ...)
  record('io.lines', path)
  return real_io_open(R.remap(path), 'r'):lines(...)
end
dofile = function()
  error('dofile is not supported by the kumoc stub: emit everything into the policy file', 2)
end
loadfile = function()
  error('loadfile is not supported by the kumoc stub', 2)
end

return STUB
