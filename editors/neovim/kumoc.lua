-- kumoc for Neovim: the `kumo` filetype and the kumoc language server (`kumoc lsp`).
--
-- Paste this into your init.lua, or save it as ~/.config/nvim/lua/kumoc.lua and add
-- `require('kumoc')` to init.lua. Needs Neovim 0.7 or later (Debian 12 ships 0.7.2); on an
-- older Neovim it says so and does nothing else. On 0.11 and later it uses
-- vim.lsp.config / vim.lsp.enable; before that a FileType autocmd starts one client per
-- deployment directory (vim.lsp.start_client) and attaches each buffer to it.
--
-- Highlighting comes from the server's semantic tokens (Neovim 0.9+; there is no kumo
-- syntax file): keywords, keys, strings, numbers/rates/sizes, names, calls and comments
-- are coloured as soon as the server has answered. Completion is on <C-x><C-o> (the
-- buffer's omnifunc), code actions (quick fixes) on :lua vim.lsp.buf.code_action().
--
-- One deployment is the directory that holds its .kumo files, so that directory is the
-- root: each deployment directory gets its own client, and a stdlib file opened by "go to
-- definition" gets its own as well.
--
-- tests/editors/neovim.sh in the kumoc repository drives this file in a headless Neovim
-- against `kumoc lsp`.

-- The server command. Put the full path here if kumoc is not on your PATH,
-- e.g. { vim.fn.expand('~/.cargo/bin/kumoc'), 'lsp' }.
local kumoc_cmd = { 'kumoc', 'lsp' }

-- Everything below needs Neovim 0.7 (nvim_create_autocmd, nvim_create_augroup, the LSP
-- client as it is used here). An older Neovim gets a message instead of silence; the rest
-- of an init.lua this is pasted into still runs.
local function setup()
  local group = vim.api.nvim_create_augroup('kumoc', { clear = true })

  -- The filetype. vim.filetype.add is the way on 0.8+ (on 0.7 it is only read when
  -- g:do_filetype_lua is set); the autocmd does the same on 0.7.
  if vim.fn.has('nvim-0.8') == 1 then
    vim.filetype.add({ extension = { kumo = 'kumo' } })
  else
    vim.api.nvim_create_autocmd({ 'BufNewFile', 'BufRead' }, {
      group = group,
      pattern = '*.kumo',
      command = 'setfiletype kumo',
    })
  end

  -- The directory of the buffer's file (a .kumo file is checked with its siblings); nil for
  -- a buffer that is not a file on disk (no name, a special buffer, a URL like fugitive://).
  local function kumo_root(bufnr)
    local name = vim.api.nvim_buf_get_name(bufnr)
    if name == '' or vim.bo[bufnr].buftype ~= '' or name:match('^%a[%w+.-]*://') then
      return nil
    end
    return vim.fn.fnamemodify(name, ':p:h')
  end

  -- Buffer options: the `kumoc fmt` layout (2 spaces), `//` comments (gc, commentstring),
  -- and `#` and `/* */` comments for formatting with gq and continuing with o.
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'kumo',
    callback = function(args)
      local bo = vim.bo[args.buf]
      bo.commentstring = '// %s'
      bo.comments = 's1:/*,mb:*,ex:*/,://,:#'
      bo.expandtab = true
      bo.shiftwidth = 2
      bo.softtabstop = 2
      bo.tabstop = 2
    end,
  })

  -- <C-x><C-o> asks the server (0.11 sets this itself).
  local function on_attach(_, bufnr)
    if vim.bo[bufnr].omnifunc == '' then
      vim.bo[bufnr].omnifunc = 'v:lua.vim.lsp.omnifunc'
    end
  end

  if vim.fn.has('nvim-0.11') == 1 and vim.lsp.config and vim.lsp.enable then
    -- Neovim 0.11+: declare the server once; Neovim starts it for `kumo` buffers.
    vim.lsp.config('kumoc', {
      cmd = kumoc_cmd,
      filetypes = { 'kumo' },
      root_dir = function(bufnr, on_dir)
        local root = kumo_root(bufnr)
        if root then
          on_dir(root)
        end
      end,
    })
    vim.lsp.enable('kumoc')
  else
    -- Neovim 0.7 to 0.10: one client per deployment directory, started on the first `kumo`
    -- buffer there; later buffers of the same directory attach to it. (vim.lsp.start, which
    -- does this bookkeeping itself, only exists from 0.8 on.)
    local clients = {} -- root directory -> client id

    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = 'kumo',
      callback = function(args)
        local root = kumo_root(args.buf)
        if not root then
          return
        end
        local id = clients[root]
        local client = id and vim.lsp.get_client_by_id(id)
        if not client or client.is_stopped() then
          if vim.fn.executable(kumoc_cmd[1]) ~= 1 then
            vim.notify_once(
              'kumoc: `' .. kumoc_cmd[1] .. '` not found; set kumoc_cmd in kumoc.lua',
              vim.log.levels.WARN
            )
            return
          end
          id = vim.lsp.start_client({
            name = 'kumoc',
            cmd = kumoc_cmd,
            root_dir = root,
            on_attach = on_attach,
            on_exit = function(_, _, client_id)
              if clients[root] == client_id then
                clients[root] = nil
              end
            end,
          })
          if not id then
            vim.notify('kumoc: could not start `' .. table.concat(kumoc_cmd, ' ') .. '`', vim.log.levels.ERROR)
            return
          end
          clients[root] = id
        end
        vim.lsp.buf_attach_client(args.buf, id)
      end,
    })
  end
end

if vim.fn.has('nvim-0.7') == 1 then
  setup()
else
  local v = vim.version and vim.version() or nil
  local have = v and string.format('%d.%d.%d', v.major, v.minor, v.patch) or 'an older release'
  vim.api.nvim_echo({
    { 'kumoc.lua needs Neovim 0.7 or later (this is ' .. have .. '); the kumo filetype and kumoc lsp are not set up.', 'ErrorMsg' },
  }, true, {})
end
