-- Drives the shipped editors/neovim/kumoc.lua in a real, headless Neovim against the real
-- `kumoc lsp`, through what a user touches: the filetype, the client the setup starts,
-- omnifunc completion typed as keys, diagnostics as vim.diagnostic shows them, hover
-- (vim.lsp.buf.hover's floating window) and a quick fix through vim.lsp.buf.code_action()
-- and vim.ui.select. Run by tests/editors/neovim.sh, which sets:
--   KUMOC_NVIM_SETUP  the kumoc.lua to load
--   KUMOC_NVIM_DIR    a scratch copy of examples/example-com (this test edits mail.kumo)
-- and puts the kumoc binary on PATH (the setup runs `kumoc lsp`, as it does for a user).
--
-- The steps run in a coroutine resumed by timers, so Neovim's main loop keeps running in
-- between: it reads the server's messages and the keys the test types. Every step names
-- what it waits for; on failure or timeout the test prints what it saw, the buffer and the
-- LSP log, and exits 1.

local setup = assert(os.getenv('KUMOC_NVIM_SETUP'), 'KUMOC_NVIM_SETUP is not set')
local dir = assert(os.getenv('KUMOC_NVIM_DIR'), 'KUMOC_NVIM_DIR is not set')
local TIMEOUT_MS = tonumber(os.getenv('KUMOC_NVIM_TIMEOUT_MS') or '') or 20000

local v = vim.version()
local nvim_version = string.format('%d.%d.%d', v.major, v.minor, v.patch)
local passed, failed = 0, 0
local step = 'start'

local function log(msg)
  io.stderr:write('[nvim ' .. nvim_version .. '] ' .. msg .. '\n')
end

local function dump_state()
  local ok, err = pcall(function()
    log('--- buffer ' .. vim.api.nvim_buf_get_name(0) .. ' (filetype ' .. vim.bo.filetype .. ')')
    for i, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
      if i > 60 then
        break
      end
      io.stderr:write(string.format('%4d| %s\n', i, line))
    end
    log('--- diagnostics: ' .. vim.inspect(vim.diagnostic.get(0)))
    log('--- messages:\n' .. vim.api.nvim_exec('messages', true))
    local path = vim.lsp.get_log_path()
    local f = io.open(path, 'r')
    if f then
      local text = f:read('*a')
      f:close()
      log('--- LSP log ' .. path .. ' (last 4000 bytes):\n' .. text:sub(-4000))
    end
  end)
  if not ok then
    log('(could not dump the state: ' .. tostring(err) .. ')')
  end
end

local function finish()
  io.stderr:write(string.format('nvim-%s: %d passed, %d failed\n', nvim_version, passed, failed))
  vim.cmd(failed == 0 and 'qall!' or 'cquit 1')
end

local function fail(msg)
  failed = failed + 1
  log('FAIL in step "' .. step .. '": ' .. msg)
  dump_state()
  finish()
end

local co -- the test coroutine

-- Waits (yielding to the main loop) until pred() returns a truthy value, and returns it.
local function wait_for(what, pred)
  local deadline = vim.loop.now() + TIMEOUT_MS
  while true do
    local ok, value = pcall(pred)
    if ok and value then
      return value
    end
    if vim.loop.now() > deadline then
      error({ timeout = true, msg = 'timed out after ' .. TIMEOUT_MS .. ' ms waiting for ' .. what
        .. (ok and '' or (' (last error: ' .. tostring(value) .. ')')) })
    end
    vim.defer_fn(function()
      local resumed, err = coroutine.resume(co)
      if not resumed then
        fail(type(err) == 'table' and err.msg or tostring(err))
      end
    end, 25)
    coroutine.yield()
  end
end

local function check(cond, msg)
  if not cond then
    error({ msg = msg })
  end
end

local function begin(name)
  step = name
  log('step: ' .. name)
end

local function ok(name)
  passed = passed + 1
  log('ok: ' .. name)
end

local function term(keys)
  return vim.api.nvim_replace_termcodes(keys, true, false, true)
end

-- The 1-based number of the first line at or after `from` that matches `pattern`.
local function find_line(pattern, from)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    if i >= (from or 1) and line:match(pattern) then
      return i
    end
  end
  return nil
end

-- vim.lsp.get_clients from 0.10 on (get_active_clients is deprecated there).
local get_clients = vim.lsp.get_clients or vim.lsp.get_active_clients

local function kumoc_clients(bufnr)
  local found = {}
  for _, client in ipairs(get_clients()) do
    if client.name == 'kumoc' and vim.lsp.buf_is_attached(bufnr, client.id) then
      table.insert(found, client)
    end
  end
  return found
end

local function diagnostics_with(code)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    if d.code == code then
      table.insert(found, d)
    end
  end
  return found
end

local function floating_windows()
  local wins = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      table.insert(wins, win)
    end
  end
  return wins
end

local function run()
  begin('a Neovim older than 0.7 gets a message, not silence')
  -- No such Neovim is at hand; the setup decides by vim.fn.has('nvim-0.7'), so answer no.
  local has = vim.fn.has
  vim.fn.has = function(feature)
    return feature:match('^nvim%-') and 0 or has(feature)
  end
  local loaded, load_err = pcall(dofile, setup)
  vim.fn.has = has
  io.stdout:write('\n') -- headless Neovim writes the message to stdout without one
  check(loaded, 'the setup raised an error: ' .. tostring(load_err))
  local messages = vim.api.nvim_exec('messages', true)
  check(messages:find('kumoc.lua needs Neovim 0.7 or later', 1, true),
    'no message naming the version needed; :messages is\n' .. messages)
  check(not pcall(vim.api.nvim_get_autocmds, { group = 'kumoc' }), 'the setup went on and made autocmds')
  vim.cmd('messages clear')
  ok('"' .. messages:gsub('^%s+', ''):gsub('\n.*', '') .. '"')

  begin('load the shipped setup')
  vim.cmd('filetype on') -- what a Neovim without -u NONE has
  vim.o.showmode = false -- no "-- INSERT --" in the test's output
  vim.o.shortmess = vim.o.shortmess .. 'c' -- nor "match 1 of 11"
  dofile(setup)
  vim.cmd('edit ' .. vim.fn.fnameescape(dir .. '/mail.kumo'))
  local buf = vim.api.nvim_get_current_buf()
  check(vim.bo.filetype == 'kumo', 'filetype is "' .. vim.bo.filetype .. '", not "kumo"')
  check(vim.bo.commentstring == '// %s', 'commentstring is "' .. vim.bo.commentstring .. '"')
  check(vim.bo.shiftwidth == 2 and vim.bo.expandtab, 'not the 2-space layout')
  ok('filetype kumo and its buffer options')

  begin('the kumoc client starts and attaches')
  local client = wait_for('a kumoc client attached to mail.kumo and initialized', function()
    local c = kumoc_clients(buf)[1]
    return c and c.initialized and c
  end)
  local expected_root = vim.fn.fnamemodify(dir, ':p'):gsub('/$', '')
  check(client.config.root_dir == expected_root,
    'root_dir is ' .. tostring(client.config.root_dir) .. ', expected ' .. expected_root)
  check(vim.bo.omnifunc ~= '', 'omnifunc is not set')
  -- A second file of the same deployment shares the client.
  vim.cmd('split ' .. vim.fn.fnameescape(dir .. '/deployment.kumo'))
  local other = vim.api.nvim_get_current_buf()
  wait_for('deployment.kumo attached', function()
    return #kumoc_clients(other) == 1
  end)
  check(kumoc_clients(other)[1].id == client.id, 'deployment.kumo got a second client')
  check(#get_clients() == 1, #get_clients() .. ' clients run, expected one')
  vim.cmd('close')
  ok('one client for the deployment directory, root ' .. expected_root)

  begin('completion offers the fields of the block')
  local queue = find_line('^queue default {')
  check(queue, 'no `queue default {` line in mail.kumo')
  vim.api.nvim_buf_set_lines(buf, queue, queue, false, { '  ' })
  vim.api.nvim_win_set_cursor(0, { queue + 1, 2 })
  vim.api.nvim_feedkeys(term('A<C-x><C-o>'), 'n', false)
  local items = wait_for('the completion menu', function()
    local info = vim.fn.complete_info({ 'items' })
    return #info.items > 0 and info.items
  end)
  local words = {}
  for _, item in ipairs(items) do
    words[item.abbr] = true -- the item's label; `word` is what it inserts ("max_age = ")
  end
  local listed = table.concat(vim.tbl_map(function(i) return i.abbr end, items), ', ')
  for _, want in ipairs({ 'max_age', 'retry_interval', 'max_retry_interval', 'egress_pool' }) do
    check(words[want], 'completion in `queue default` lacks `' .. want .. '`: ' .. listed)
  end
  for _, unwanted in ipairs({ 'namespace', 'replicas', 'selector', 'enable_tls' }) do
    check(not words[unwanted], 'completion in `queue default` offers `' .. unwanted .. '` (not a queue field): ' .. listed)
  end
  vim.api.nvim_feedkeys(term('<C-e><Esc>'), 'n', false)
  wait_for('normal mode', function()
    return vim.api.nvim_get_mode().mode == 'n'
  end)
  vim.api.nvim_buf_set_lines(buf, queue, queue + 1, false, {})
  ok(#items .. ' completion items in `queue default`, its fields and no others checked')

  begin('hover documents a field')
  local pool_line = find_line('^  egress_pool%s*= shared', queue)
  check(pool_line, 'no egress_pool line in `queue default`')
  vim.api.nvim_win_set_cursor(0, { pool_line, 4 })
  vim.lsp.buf.hover()
  local hover = wait_for('the hover window', function()
    local wins = floating_windows()
    if #wins == 0 then
      return nil
    end
    local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(wins[1]), 0, -1, false)
    return table.concat(lines, '\n')
  end)
  check(hover:find('egress_pool', 1, true), 'the hover does not name egress_pool:\n' .. hover)
  for _, win in ipairs(floating_windows()) do
    vim.api.nvim_win_close(win, true)
  end
  ok('hover on egress_pool: ' .. hover:gsub('\n.*', ''))

  begin('an introduced error gets its diagnostic')
  local age = find_line('^  max_age%s*= 24h', queue)
  check(age, 'no `max_age = 24h` line in mail.kumo')
  -- Non-ASCII text before the error: the column must survive the UTF-16 positions the
  -- client negotiates.
  local broken = '  /* délai maximal */ max_agee = 24h'
  vim.api.nvim_buf_set_lines(buf, age - 1, age, false, { broken })
  local d = wait_for('a K1002 diagnostic', function()
    return diagnostics_with('K1002')[1]
  end)
  local want_col = broken:find('max_agee', 1, true) - 1
  check(d.lnum == age - 1 and d.col == want_col,
    string.format('K1002 at %d:%d (0-based, bytes), expected %d:%d', d.lnum, d.col, age - 1, want_col))
  check(d.end_col == want_col + #'max_agee', 'K1002 ends at byte ' .. tostring(d.end_col))
  check(d.severity == vim.diagnostic.severity.ERROR, 'K1002 is not an error')
  check(d.message:find('unknown field `max_agee` in `queue`', 1, true), 'message: ' .. d.message)
  ok('K1002 "' .. d.message .. '" at line ' .. age .. ', byte column ' .. want_col)

  begin('the quick fix applies')
  vim.api.nvim_win_set_cursor(0, { age, want_col + 2 })
  local offered
  local original_select = vim.ui.select
  vim.ui.select = function(entries, opts, on_choice)
    offered = {}
    local chosen
    for _, entry in ipairs(entries) do
      local title = opts.format_item and opts.format_item(entry) or tostring(entry)
      table.insert(offered, title)
      if not chosen and title:find('max_age`', 1, true) then
        chosen = entry
      end
    end
    on_choice(chosen)
  end
  vim.lsp.buf.code_action()
  wait_for('code actions offered', function()
    return offered
  end)
  vim.ui.select = original_select
  check(#offered > 0, 'no code action')
  local fixed = wait_for('the fixed line', function()
    local line = vim.api.nvim_buf_get_lines(buf, age - 1, age, false)[1]
    return line ~= broken and line
  end)
  check(fixed == '  /* délai maximal */ max_age = 24h',
    'after the quick fix the line is "' .. fixed .. '"; offered: ' .. table.concat(offered, ' | '))
  wait_for('the K1002 diagnostic to go', function()
    return #diagnostics_with('K1002') == 0
  end)
  local left = vim.diagnostic.get(0, { severity = vim.diagnostic.severity.ERROR })
  check(#left == 0, 'errors left after the fix: ' .. vim.inspect(left))
  ok('quick fix "' .. table.concat(offered, '", "') .. '" applied; no error left')

  finish()
end

co = coroutine.create(function()
  local okay, err = pcall(run)
  if not okay then
    fail(type(err) == 'table' and err.msg or tostring(err))
  end
end)

-- Start once Neovim has finished starting up (the main loop runs from then on).
vim.defer_fn(function()
  local resumed, err = coroutine.resume(co)
  if not resumed then
    fail(tostring(err))
  end
end, 0)
