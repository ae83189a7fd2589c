"""Package topologies from generators or an explicit edge list, and deterministic routing.

Chiplet ids are 0..n-1 (row-major for meshes and tori). Meshes and tori route dimension-order (X then
Y, the shorter way round a torus ring, ties to the positive direction); rings take the shorter way
(ties clockwise); other graphs take the breadth-first shortest path with neighbours visited in
increasing id, so routes never depend on hash order.
"""

from __future__ import annotations

from collections import deque

from .config.hardware import TopologyConfig

__all__ = ["Topology"]


class Topology:
    def __init__(self, cfg: TopologyConfig):
        self.cfg = cfg
        self.n = cfg.n_chiplets
        self.edges: list[tuple[int, int]] = sorted(self._edges())
        adj: dict[int, list[int]] = {i: [] for i in range(self.n)}
        for a, b in self.edges:
            adj[a].append(b)
            adj[b].append(a)
        self.adj = {k: sorted(set(v)) for k, v in adj.items()}

    def _edges(self) -> set[tuple[int, int]]:
        c = self.cfg
        e: set[tuple[int, int]] = set()

        def add(a: int, b: int) -> None:
            if a != b:
                e.add((min(a, b), max(a, b)))

        if c.kind in ("mesh2d", "torus2d"):
            R, C = int(c.rows), int(c.cols)
            for r in range(R):
                for col in range(C):
                    i = r * C + col
                    if col + 1 < C:
                        add(i, i + 1)
                    elif c.kind == "torus2d" and C > 2:
                        add(i, r * C)
                    if r + 1 < R:
                        add(i, i + C)
                    elif c.kind == "torus2d" and R > 2:
                        add(i, col)
        elif c.kind == "ring":
            for i in range(self.n):
                add(i, (i + 1) % self.n)
        elif c.kind == "fully_connected":
            for a in range(self.n):
                for b in range(a + 1, self.n):
                    add(a, b)
        else:
            for a, b in c.edges or []:
                add(a, b)
        return e

    def route(self, src: int, dst: int) -> list[int]:
        """Chiplets visited from src to dst, both included."""
        if src == dst:
            return [src]
        kind = self.cfg.kind
        if kind in ("mesh2d", "torus2d"):
            return self._dor(src, dst)
        if kind == "ring":
            n = self.n
            fwd = (dst - src) % n
            step = 1 if fwd <= n - fwd else -1
            path = [src]
            while path[-1] != dst:
                path.append((path[-1] + step) % n)
            return path
        return self._bfs(src, dst)

    def _dor(self, src: int, dst: int) -> list[int]:
        C, R = int(self.cfg.cols), int(self.cfg.rows)
        torus = self.cfg.kind == "torus2d"
        r, c = divmod(src, C)
        r1, c1 = divmod(dst, C)
        path = [src]

        def steps(a: int, b: int, size: int) -> list[int]:
            if a == b:
                return []
            d = b - a
            if torus and size > 2:
                fwd = d % size
                if fwd <= size - fwd:
                    return [1] * fwd
                return [-1] * (size - fwd)
            return [1 if d > 0 else -1] * abs(d)

        for s in steps(c, c1, C):
            c = (c + s) % C
            path.append(r * C + c)
        for s in steps(r, r1, R):
            r = (r + s) % R
            path.append(r * C + c)
        return path

    def _bfs(self, src: int, dst: int) -> list[int]:
        prev = {src: src}
        q = deque([src])
        while q:
            u = q.popleft()
            if u == dst:
                break
            for v in self.adj[u]:
                if v not in prev:
                    prev[v] = u
                    q.append(v)
        if dst not in prev:
            from .errors import SnapsimError

            raise SnapsimError(f"topology: chiplet {dst} is not reachable from chiplet {src}")
        path = [dst]
        while path[-1] != src:
            path.append(prev[path[-1]])
        return path[::-1]
