"""Package topologies from generators or an explicit edge list, and routing: the one place a routing
rule is written (the ideal network's routes and the router model's route sets both come from here).

Chiplet ids are 0..n-1 (row-major for meshes and tori: x is the column, y the row). Routing
(``topology.routing``):

* ``xy`` (the default on meshes and tori) / ``yx``: dimension order, X then Y (or Y then X), the shorter
  way round a torus ring with ties to the positive direction;
* ``west_first`` / ``odd_even`` (meshes): minimal adaptive turn models. :meth:`Topology.next_hops` gives
  every permitted next chiplet, X direction first; a route (the ideal network's, which cannot adapt)
  always takes the first;
* ``table``: breadth-first shortest paths with neighbours visited in increasing id (the default for
  fully connected and edge-list topologies, so routes never depend on hash order); rings default to the
  shorter way (ties clockwise).

Deadlock freedom on rings and tori needs dateline virtual-channel classes: :meth:`Topology.crosses_dateline`
says which hops wrap around.
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

    @property
    def routing(self) -> str:
        """The routing in force: the configured one, or the kind's default (``xy``, ``ring`` or ``table``)."""
        if self.cfg.routing is not None:
            return self.cfg.routing
        return {"mesh2d": "xy", "torus2d": "xy", "ring": "ring"}.get(self.cfg.kind, "table")

    @property
    def adaptive(self) -> bool:
        return self.routing in ("west_first", "odd_even")

    def coords(self, node: int) -> tuple[int, int]:
        """(x, y) = (column, row) of a mesh or torus chiplet."""
        y, x = divmod(node, int(self.cfg.cols))
        return x, y

    def next_hops(self, cur: int, src: int, dst: int) -> tuple[int, ...]:
        """Every next chiplet the routing permits from ``cur`` for a packet from ``src`` to ``dst`` (empty at
        ``dst``), most preferred first. Deterministic routings give one; :meth:`route` follows the first."""
        if cur == dst:
            return ()
        rule = self.routing
        if rule in ("west_first", "odd_even"):
            C = int(self.cfg.cols)
            x, y = self.coords(cur)
            x1, y1 = self.coords(dst)
            dx, dy = x1 - x, y1 - y
            east, west = cur + 1, cur - 1
            vert = () if dy == 0 else ((cur + C,) if dy > 0 else (cur - C,))
            if dx == 0:
                return vert
            if rule == "west_first":
                return (west,) if dx < 0 else (east,) + vert
            # odd-even turn model (Chiu 2000): no east->north/south turn in an even column, no
            # north/south->west turn in an odd column
            if dx > 0:
                if dy == 0:
                    return (east,)
                xs = self.coords(src)[0]
                out: tuple[int, ...] = ()
                if x1 % 2 == 1 or dx != 1:
                    out += (east,)
                if x % 2 == 1 or x == xs:
                    out += vert
                return out
            return (west,) + (vert if x % 2 == 0 else ())
        return (self.route(cur, dst)[1],)

    def crosses_dateline(self, a: int, b: int) -> bool:
        """True if hop a -> b wraps around a torus ring or a ring (the dateline of its dimension)."""
        kind = self.cfg.kind
        if kind == "ring":
            n = self.n
            return n > 2 and {a, b} == {0, n - 1}
        if kind != "torus2d":
            return False
        (xa, ya), (xb, yb) = self.coords(a), self.coords(b)
        return abs(xa - xb) > 1 or abs(ya - yb) > 1

    def dimension(self, a: int, b: int) -> int:
        """0 for a hop along X (a row), 1 along Y (a column); 0 on graphs without dimensions."""
        if self.cfg.kind not in ("mesh2d", "torus2d"):
            return 0
        return 0 if self.coords(a)[1] == self.coords(b)[1] else 1

    def route(self, src: int, dst: int) -> list[int]:
        """Chiplets visited from src to dst, both included."""
        if src == dst:
            return [src]
        rule = self.routing
        if rule in ("xy", "yx"):
            return self._dor(src, dst, rule == "yx")
        if rule in ("west_first", "odd_even"):
            path = [src]
            while path[-1] != dst:
                path.append(self.next_hops(path[-1], src, dst)[0])
            return path
        kind = self.cfg.kind
        if rule == "ring":
            n = self.n
            fwd = (dst - src) % n
            step = 1 if fwd <= n - fwd else -1
            path = [src]
            while path[-1] != dst:
                path.append((path[-1] + step) % n)
            return path
        return self._bfs(src, dst)

    def _dor(self, src: int, dst: int, y_first: bool = False) -> list[int]:
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

        if y_first:
            for s in steps(r, r1, R):
                r = (r + s) % R
                path.append(r * C + c)
        for s in steps(c, c1, C):
            c = (c + s) % C
            path.append(r * C + c)
        if not y_first:
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
