-- Headless test: nvim --headless -u NONE --cmd "set rtp+=editors/nvim"
--   -c "luafile editors/nvim/test/run.lua"  (env STUDIO_PACKER_BIN, PROJECT)
-- Prints one line per check and exits non-zero on the first failure.
local sp = require("studio_packer")
sp.config.cmd = { os.getenv("STUDIO_PACKER_BIN"), "serve" }
local root = os.getenv("PROJECT")
local progress = {}
local events = {}
sp.on_event = function(e)
  table.insert(events, e.kind)
end
-- Neovim's standard $/progress handler keeps the values; record the kinds too.
local default_progress = vim.lsp.handlers["$/progress"]
vim.lsp.handlers["$/progress"] = function(err, result, ctx, config)
  table.insert(progress, result.value.kind)
  return default_progress(err, result, ctx, config)
end

local ok, err = pcall(function()
  local lines = sp.status_lines(root .. "/packer.toml")
  assert(lines[2] == "assets: 7", "status: " .. table.concat(lines, " | "))
  assert(lines[4] == "divergence: clean (0)", lines[4])
  print("ok status: " .. lines[2])

  -- A checkout in progress (begun by another tool): the status says divergence is held.
  local p = sp.project(root .. "/packer.toml")
  local c = vim.lsp.get_client_by_id(p.client_id)
  local began = c.request_sync("packer/beginExternalChange", { projectId = p.project_id, reason = "git checkout x" }, 5000)
  local held = sp.status_lines(root .. "/packer.toml")
  assert(held[#held] == "divergence held while `git checkout x` runs", table.concat(held, " | "))
  c.request_sync("packer/endExternalChange", { changeId = began.result.changeId }, 5000)
  assert(#sp.status_lines(root .. "/packer.toml") == #held - 1)
  print("ok status while held: " .. held[#held])

  -- A level naming the hero by id: the packer's references, as quickfix items.
  local f = io.open(root .. "/assets/data/level3.json", "w")
  f:write('{\n  "hero": "asset:13hsh6x879ccd571kndbbbe4rw"\n}\n')
  f:close()
  local reg = c.request_sync("packer/applyMutation", {
    projectId = p.project_id,
    mutation = { kind = "register", paths = { "assets/data/level3.json" } },
  }, 10000)
  assert(reg.result.outcome == "applied", vim.inspect(reg))
  local items, counts = sp.references("assets/sprites/hero.png", root)
  assert(counts.usedBy == 1 and #items == 1, vim.inspect(items))
  assert(items[1].filename == root .. "/assets/data/level3.json" and items[1].lnum == 2 and items[1].col == 11, vim.inspect(items))
  assert(items[1].text == "uses assets/sprites/hero.png (/hero, by id)", items[1].text)
  print("ok references: " .. items[1].text .. " at level3.json:" .. items[1].lnum)

  local blocked = sp.move("assets/sprites/hero.png", "assets/sprites/slime.png", function()
    error("a blocked move must not ask")
  end, root)
  assert(blocked == nil)
  print("ok blocked move")

  local asked
  local moved = sp.move("assets/sprites/hero.png", "assets/chars/hero.png", function(l)
    asked = l
    return true
  end, root)
  assert(moved and moved.outcome == "applied", "move not applied")
  assert(asked[1] == "file move: assets/sprites/hero.png -> assets/chars/hero.png", vim.inspect(asked))
  assert(vim.fn.filereadable(root .. "/assets/chars/hero.png") == 1)
  print("ok move with preview: " .. asked[1])

  local built = sp.build(root)
  assert(built.outcome == "succeeded", "build: " .. built.outcome)
  assert(vim.fn.filereadable(root .. "/build/desktop/main.pack") == 1)
  vim.wait(2000, function()
    return progress[#progress] == "end"
  end, 10)
  assert(progress[1] == "begin" and progress[#progress] == "end", "progress: " .. table.concat(progress, ","))
  print("ok build: " .. built.stats.processed .. " processed, progress " .. progress[1] .. ".." .. progress[#progress])
  local status = sp.status_lines(root)
  assert(status[5] == "last build: desktop succeeded, mobile succeeded", vim.inspect(status))
  print("ok " .. status[5])
end)
sp.stop()
if not ok then
  print("FAILED: " .. tostring(err))
  vim.cmd("cquit 1")
end
vim.cmd("qall!")
