-- studio-packer for Neovim (0.7+): status, build and move through the
-- packer's own answers. Named `studio_packer` so that it is never confused
-- with packer.nvim, the plugin manager. Translates; decides nothing.

local M = {}

M.config = { cmd = { "studio-packer", "serve" } }

-- root -> { client_id, project_id }
local projects = {}

local function find_root(start)
  local dir = vim.fn.fnamemodify(start ~= "" and start or vim.fn.getcwd(), ":p")
  if vim.fn.isdirectory(dir) == 0 then
    dir = vim.fn.fnamemodify(dir, ":h")
  end
  while dir ~= "/" and dir ~= "" do
    if vim.fn.filereadable(dir .. "/packer.toml") == 1 then
      return (dir:gsub("/$", ""))
    end
    dir = vim.fn.fnamemodify(dir:gsub("/$", ""), ":h")
  end
  return nil
end

local function request_sync(client, method, params, timeout)
  local response, err = client.request_sync(method, params, timeout or 30000)
  if err then
    error(method .. ": " .. tostring(err))
  end
  if response.err then
    error(method .. ": " .. response.err.message)
  end
  return response.result
end

--- Starts (or reuses) the packer for the project around `path`.
function M.project(path)
  local root = find_root(path or vim.api.nvim_buf_get_name(0))
  if not root then
    error("no packer.toml above " .. (path or vim.fn.getcwd()))
  end
  local p = projects[root]
  if p and vim.lsp.get_client_by_id(p.client_id) then
    return p
  end
  local client_id = vim.lsp.start_client({
    name = "studio-packer",
    cmd = M.config.cmd,
    root_dir = root,
    handlers = {
      ["packer/event"] = function(_, event)
        if M.on_event then
          M.on_event(event)
        end
      end,
    },
  })
  local client = vim.lsp.get_client_by_id(client_id)
  vim.wait(10000, function()
    return client.initialized
  end, 10)
  local opened = request_sync(client, "packer/openProject", { root = root })
  p = { client_id = client_id, project_id = opened.projectId, root = root }
  projects[root] = p
  return p
end

local function client_of(p)
  return vim.lsp.get_client_by_id(p.client_id)
end

-- The registered asset at `rel` (project-relative), or nil. `pathPrefix`
-- is a plain prefix, so the path itself is among the first items.
local function asset_at(client, p, rel)
  local list = request_sync(client, "packer/listAssets", { projectId = p.project_id, filter = { pathPrefix = rel } })
  for _, a in ipairs(list.items) do
    if a.path == rel then
      return a
    end
  end
  return nil
end

--- The packer's summary as lines for a person.
function M.status_lines(path)
  local p = M.project(path)
  local s = request_sync(client_of(p), "packer/summary", { projectId = p.project_id })
  local lines = {
    string.format("studio-packer %s (generation %d)", p.root, s.generation),
    string.format("assets: %d", s.assets.total),
    string.format("diagnostics: %d errors, %d warnings", s.diagnostics.errors, s.diagnostics.warnings),
    string.format("divergence: %s (%d)", s.divergence.state, s.divergence.count),
  }
  -- One entry per target the packer built, in target-name order.
  local builds = {}
  local names = {}
  for name, _ in pairs(s.lastBuild or {}) do
    table.insert(names, name)
  end
  table.sort(names)
  for _, name in ipairs(names) do
    table.insert(builds, name .. " " .. s.lastBuild[name].outcome)
  end
  if #builds > 0 then
    table.insert(lines, "last build: " .. table.concat(builds, ", "))
  end
  -- A checkout in progress: the packer holds divergence back until it ends.
  for _, change in ipairs(s.externalChanges or {}) do
    table.insert(lines, "divergence held while `" .. change.reason .. "` runs")
  end
  return lines
end

function M.status(path)
  vim.notify(table.concat(M.status_lines(path), "\n"))
end

--- Builds; progress arrives through Neovim's own `$/progress` handling.
--- Returns the packer's build result.
function M.build(path)
  local p = M.project(path)
  local token = "nvim-build-" .. tostring(vim.loop.hrtime())
  local result = request_sync(client_of(p), "packer/build", { projectId = p.project_id, workDoneToken = token }, 600000)
  local msg = string.format(
    "build %s: %d processed, %d reused",
    result.outcome,
    result.stats.processed,
    result.stats.reused
  )
  local r = result.stats.remote
  if r and r.mode ~= "off" then
    msg = msg
      .. string.format("\nremote cache (%s): %d hits, %d misses, %d uploaded, %d corrupt, %d errors", r.mode, r.hits, r.misses, r.uploaded, r.corrupt, r.errors)
  end
  for _, d in ipairs(result.diagnostics) do
    msg = msg .. string.format("\n%s[%s]: %s", d.severity, d.code, d.message)
  end
  vim.notify(msg, result.outcome == "succeeded" and vim.log.levels.INFO or vim.log.levels.ERROR)
  return result
end

--- Preview lines exactly as the packer describes the change.
function M.preview_lines(preview)
  local lines = {}
  for _, b in ipairs(preview.blockers) do
    table.insert(lines, "blocked (" .. b.code .. "): " .. b.message)
  end
  for _, w in ipairs(preview.warnings) do
    table.insert(lines, "warning (" .. w.code .. "): " .. w.message)
  end
  for _, f in ipairs(preview.filesystemMutations) do
    table.insert(lines, "file " .. f.op .. ": " .. f.path .. (f.to and f.to ~= vim.NIL and (" -> " .. f.to) or ""))
  end
  -- A long list is cut by the packer, which says each list's full length.
  local cut = preview.truncated
  if cut and cut ~= vim.NIL then
    for _, list in ipairs({ "blockers", "warnings", "filesystemMutations" }) do
      local shown = #(preview[list] or {})
      if cut[list] and cut[list] > shown then
        table.insert(lines, string.format("(%s: the first %d of %d are shown)", list, shown, cut[list]))
      end
    end
  end
  return lines
end

--- Moves the asset at `from` (project-relative) to `to`: the packer's
--- preview first; blockers stop it; `confirm(lines)` decides the rest.
--- Returns the packer's apply result, or nil when not applied.
function M.move(from, to, confirm, path)
  local p = M.project(path)
  local client = client_of(p)
  local asset = asset_at(client, p, from)
  if not asset then
    vim.notify("not a registered asset: " .. from, vim.log.levels.ERROR)
    return nil
  end
  local mutation = { kind = "move", assetId = asset.id, to = to }
  local preview = request_sync(client, "packer/previewMutation", { projectId = p.project_id, mutation = mutation })
  local lines = M.preview_lines(preview)
  if #preview.blockers > 0 then
    vim.notify(table.concat(lines, "\n"), vim.log.levels.ERROR)
    return nil
  end
  if not confirm(lines) then
    return nil
  end
  local result = request_sync(client, "packer/applyMutation", {
    projectId = p.project_id,
    mutation = mutation,
    expectedGeneration = preview.baseGeneration,
  })
  vim.notify("move " .. result.outcome .. ": " .. from .. " -> " .. to)
  return result
end

--- The packer's references of the asset at `rel` (project-relative) as
--- quickfix items, each at the file and line where the reference is
--- written: first what the asset uses, then what uses it.
function M.references(rel, path)
  local p = M.project(path)
  local client = client_of(p)
  local asset = asset_at(client, p, rel)
  if not asset then
    error("not a registered asset: " .. rel)
  end
  local r = request_sync(client, "packer/references", { projectId = p.project_id, assetId = asset.id })
  local items = {}
  local function add(item, written_in, text)
    table.insert(items, {
      filename = p.root .. "/" .. written_in,
      lnum = item.line,
      col = item.column,
      text = text .. " (" .. item.pointer .. ", by " .. item.by .. ")",
      type = item.broken and "E" or "I",
    })
  end
  for _, u in ipairs(r.uses) do
    local named = u.path or ("asset:" .. u.target)
    add(u, r.path, "uses " .. named .. (u.broken and ": names nothing registered" or ""))
  end
  for _, u in ipairs(r.usedBy) do
    add(u, u.path, "uses " .. r.path)
  end
  return items, r.counts
end

function M.stop()
  for root, p in pairs(projects) do
    local client = client_of(p)
    if client then
      client.stop()
    end
    projects[root] = nil
  end
end

return M
