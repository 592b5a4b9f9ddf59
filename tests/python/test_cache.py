"""The HTTP cache from Python: cache= on the client, Response.cache, the
cache options as keywords, a foreign file refused; against flurry mock's
/cache routes, which count the requests that reach them."""

import json
import os
import tempfile
import unittest
import urllib.request

import flurry
import support


def setUpModule():
    support.start()


def tearDownModule():
    support.stop()


def origin_hits(key):
    with urllib.request.urlopen(f"{support.MOCK.base}/cache-ctl/{key}") as r:
        return json.load(r)["hits"]


class TestCache(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.dir.name, "c.db")

    def tearDown(self):
        self.dir.cleanup()

    def test_hit_shared_by_clients(self):
        url = f"{support.MOCK.base}/cache/py1?etag=1&cc=max-age%3D3600"
        with flurry.Client(cache=self.db) as c:
            self.assertEqual(c.get(url).cache, "miss")
            r = c.get(url)
            self.assertEqual((r.cache, r.attempts, r.json()["hits"]), ("hit", 0, 1))
        with flurry.Client(cache=self.db, cache_mode=3) as c:  # offline, another client
            self.assertEqual(c.get(url).cache, "hit")
            with self.assertRaises(flurry.ConnectError):
                c.get(f"{support.MOCK.base}/cache/py-never")
        self.assertEqual(origin_hits("py1"), 1)
        self.assertEqual(origin_hits("py-never"), 0)

    def test_no_cache_is_none_and_memory(self):
        url = f"{support.MOCK.base}/cache/py2?cc=max-age%3D3600"
        with flurry.Client() as c:
            self.assertIsNone(c.get(url).cache)
        with flurry.Client(cache=":memory:") as c:
            self.assertEqual([r.cache for r in c.gather([url] * 5)].count("hit"), 4)
            self.assertEqual(c.post(url).cache, "bypass")
        self.assertEqual(origin_hits("py2"), 3)

    def test_foreign_file_refused(self):
        with open(self.db, "wb") as f:
            f.write(b"not a database at all" * 100)
        with self.assertRaisesRegex(ValueError, "not a flurry cache"):
            flurry.Client(cache=self.db)
        with open(self.db, "rb") as f:
            self.assertEqual(f.read(), b"not a database at all" * 100)


if __name__ == "__main__":
    unittest.main()
