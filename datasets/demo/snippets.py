"""Code snippets and stack traces per programming language, for the coding prompts and their padding."""

from __future__ import annotations


def _snippets(text: str) -> list[str]:
    """Code snippets separated by lines holding only `---`."""
    return [part.strip("\n") + "\n" for part in text.split("\n---\n")]


CODE = {
    "python": _snippets(
        """
def parse_config(path: str) -> dict:
    with open(path) as fh:
        raw = yaml.safe_load(fh)
    return {k.lower(): v for k, v in raw.items()}
---
class RouteCache:
    def __init__(self, ttl_s: int = 300) -> None:
        self._ttl = ttl_s
        self._items: dict[str, tuple[float, Route]] = {}

    def get(self, key: str) -> Route | None:
        hit = self._items.get(key)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        return None
---
def assign_driver(route: Route, drivers: list[Driver]) -> Driver:
    free = [d for d in drivers if d.shift_ends > route.eta]
    return min(free, key=lambda d: d.distance_to(route.start))
---
async def fetch_manifest(client: httpx.AsyncClient, depot_id: int) -> Manifest:
    resp = await client.get(f'/depots/{depot_id}/manifest')
    resp.raise_for_status()
    return Manifest.model_validate(resp.json())
---
@app.get('/shipments/{shipment_id}')
def read_shipment(shipment_id: int, db: Session = Depends(get_db)):
    row = db.get(Shipment, shipment_id)
    if row is None:
        raise HTTPException(404)
    return row
---
def eta_minutes(stops: list[Stop], speed_kmh: float = 32.0) -> int:
    km = sum(a.distance_to(b) for a, b in pairwise(stops))
    dwell = 4 * len(stops)
    return round(km / speed_kmh * 60) + dwell
---
@dataclass(frozen=True)
class Depot:
    depot_id: int
    name: str
    opens: time
    closes: time

    def is_open(self, at: datetime) -> bool:
        return self.opens <= at.time() < self.closes
---
def load_manifest_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline='') as fh:
        for row in csv.DictReader(fh):
            if row.get('status') != 'cancelled':
                yield row
"""
    ),
    "typescript": _snippets(
        """
export function groupByDepot(stops: Stop[]): Map<string, Stop[]> {
  const out = new Map<string, Stop[]>();
  for (const s of stops) {
    const list = out.get(s.depotId) ?? [];
    list.push(s);
    out.set(s.depotId, list);
  }
  return out;
}
---
const useShipments = (depot: string) => {
  const [rows, setRows] = useState<Shipment[]>([]);
  useEffect(() => { api.list(depot).then(setRows); }, [depot]);
  return rows;
};
---
router.post('/labels', async (req, res) => {
  const label = await printer.render(req.body);
  res.status(201).json(label);
});
---
export async function retry<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try { return await fn(); } catch (e) { last = e; }
    await sleep(250 * 2 ** i);
  }
  throw last;
}
"""
    ),
    "go": _snippets(
        """
func (s *Server) HandleETA(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("route")
	eta, err := s.planner.ETA(r.Context(), id)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	json.NewEncoder(w).Encode(eta)
}
---
func batch(items []Stop, size int) [][]Stop {
	var out [][]Stop
	for size < len(items) {
		items, out = items[size:], append(out, items[0:size:size])
	}
	return append(out, items)
}
"""
    ),
    "java": _snippets(
        """
public Optional<Driver> nextFree(List<Driver> drivers, Instant eta) {
    return drivers.stream().filter(d -> d.shiftEnds().isAfter(eta))
        .min(Comparator.comparing(Driver::load));
}
---
@Scheduled(cron = "0 0 2 * * *")
public void nightlySync() {
    for (Depot depot : depots.findAll()) {
        syncClient.push(depot.getId(), exporter.export(depot));
    }
}
"""
    ),
}
TRACES = {
    "python": [
        'Traceback (most recent call last):\n  File "app/routes.py", line 88, in read_shipment\n'
        "    return row.to_dict()\nAttributeError: 'NoneType' object has no attribute 'to_dict'\n",
        'Traceback (most recent call last):\n  File "worker/sync.py", line 142, in run\n'
        "    payload = manifest['stops']\nKeyError: 'stops'\n",
    ],
    "java": [
        'Exception in thread "main" java.lang.NullPointerException: Cannot invoke "Depot.getId()"\n'
        "\tat com.acme.sync.Client.run(Client.java:42)\n\tat com.acme.sync.Main.main(Main.java:17)\n",
        "java.lang.IllegalStateException: Connection pool shut down\n"
        "\tat com.acme.dispatch.PlannerService.eta(PlannerService.java:211)\n",
    ],
    "go": [
        "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 17 [running]:\n"
        "main.batch(...)\n\t/src/planner/batch.go:14 +0x1d\n",
    ],
    "typescript": [
        "TypeError: Cannot read properties of undefined (reading 'depotId')\n"
        "    at groupByDepot (src/stops.ts:4:28)\n    at Array.forEach (<anonymous>)\n",
    ],
}
