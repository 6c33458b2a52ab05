-- Commands of the studio-packer plugin (see lua/studio_packer/init.lua).
if vim.g.loaded_studio_packer then
  return
end
vim.g.loaded_studio_packer = true

vim.api.nvim_create_user_command("StudioPackerStatus", function()
  require("studio_packer").status()
end, {})

vim.api.nvim_create_user_command("StudioPackerBuild", function()
  require("studio_packer").build()
end, {})

-- :StudioPackerReferences fills the quickfix list with the packer's
-- references of the current buffer's asset.
vim.api.nvim_create_user_command("StudioPackerReferences", function()
  local sp = require("studio_packer")
  local p = sp.project()
  local rel = vim.api.nvim_buf_get_name(0):sub(#p.root + 2)
  local items, counts = sp.references(rel)
  local title = string.format("%s: uses %d (%d broken), used by %d", rel, counts.uses, counts.broken, counts.usedBy)
  vim.fn.setqflist({}, " ", { title = title, items = items })
  vim.cmd("copen")
end, {})

-- :StudioPackerMove NEW_PATH moves the current buffer's asset.
vim.api.nvim_create_user_command("StudioPackerMove", function(opts)
  local sp = require("studio_packer")
  local p = sp.project()
  local from = vim.api.nvim_buf_get_name(0):sub(#p.root + 2)
  sp.move(from, opts.args, function(lines)
    return vim.fn.confirm(table.concat(lines, "\n") .. "\n\nApply?", "&Yes\n&No", 2) == 1
  end)
end, { nargs = 1 })
