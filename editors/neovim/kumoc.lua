-- kumoc for Neovim: the `kumo` filetype and the kumoc language server (`kumoc lsp`).
--
-- Paste this into your init.lua, or save it as ~/.config/nvim/lua/kumoc.lua and add
-- `require('kumoc')` to init.lua. Needs Neovim 0.8 or later; on 0.11 and later it uses
-- vim.lsp.config / vim.lsp.enable, before that vim.lsp.start from a FileType autocmd.
--
-- Highlighting comes from the server's semantic tokens (Neovim 0.9+; there is no kumo
-- syntax file): keywords, keys, strings, numbers/rates/sizes, names, calls and comments
-- are coloured as soon as the server has answered.
--
-- One deployment is the directory that holds its .kumo files, so that directory is the
-- root: each deployment directory gets its own client, and a stdlib file opened by "go to
-- definition" gets its own as well.

-- The server command. Put the full path here if kumoc is not on your PATH,
-- e.g. { vim.fn.expand('~/.cargo/bin/kumoc'), 'lsp' }.
local kumoc_cmd = { 'kumoc', 'lsp' }

vim.filetype.add({ extension = { kumo = 'kumo' } })

-- The directory of the buffer's file (a .kumo file is checked with its siblings).
local function kumo_root(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return nil
  end
  return vim.fs.dirname(name)
end

local group = vim.api.nvim_create_augroup('kumoc', { clear = true })

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
  -- Neovim 0.8 to 0.10: start (or reuse, for the same root) a client per `kumo` buffer.
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'kumo',
    callback = function(args)
      local root = kumo_root(args.buf)
      if not root then
        return
      end
      if vim.fn.executable(kumoc_cmd[1]) ~= 1 then
        vim.notify_once(
          'kumoc: `' .. kumoc_cmd[1] .. '` not found; set kumoc_cmd in kumoc.lua',
          vim.log.levels.WARN
        )
        return
      end
      vim.lsp.start({
        name = 'kumoc',
        cmd = kumoc_cmd,
        root_dir = root,
      }, { bufnr = args.buf })
    end,
  })
end
