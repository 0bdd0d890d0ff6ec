package dev.glimpse.cli.gallery;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One self-contained HTML page of captions beside their pictures, for the people who own the
 * images: a header with counts, throughput and model, a grid of thumbnails (JPEG data URIs) with
 * caption, confidence and views, the dead letters with code and message, and a filter box in
 * plain JavaScript. It loads nothing: its Content-Security-Policy allows data-URI images and its
 * own style and script (by hash) only, and every caption, id and message is escaped.
 */
public final class GalleryPage {
    /** Confidence below this is marked unsure on the page (the built-in model's view_confidence). */
    static final double UNSURE = 0.99;
    static final double DOUBTFUL = 0.5;
    private static final Pattern CHUNK = Pattern.compile("\\d+|\\D+");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);

    /** What a page shows, for the command's last line. */
    public record Summary(int captions, int deadLetters, int withImage, long bytes) {}

    private GalleryPage() {}

    /**
     * Writes the page for {@code records} (caption and dead-letter JSON of docs/contracts.md),
     * thumbnails from the files in {@code images} (null: none), showing at most {@code limit}
     * captions; {@code source} names where the records came from.
     */
    public static Summary write(List<JsonNode> records, Path images, String source, int limit, Path out) throws IOException {
        return write(records, images, source, limit, Double.NaN, out);
    }

    /** As above, with the outcomes per second a run measured (NaN: from the records' Kafka timestamps). */
    public static Summary write(List<JsonNode> records, Path images, String source, int limit, double perSecond,
                                Path out) throws IOException {
        // In id order, numbers by value (scene-2 before scene-10): how people look for their pictures.
        List<Outcome> outcomes = records.stream().map(Outcome::of)
                .sorted(Comparator.comparing(Outcome::id, Comparator.nullsLast(GalleryPage::naturalOrder))).toList();
        Thumbnails thumbnails = new Thumbnails(images);
        List<Outcome> captions = outcomes.stream().filter(o -> !o.isDeadLetter()).toList();
        List<Outcome> shown = captions.subList(0, Math.min(limit, captions.size()));
        List<Optional<String>> pictures = shown.stream().map(o -> thumbnails.dataUri(o.id())).toList();
        String html = render(outcomes, shown, pictures, source, perSecond, Instant.now());
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(out, html, StandardCharsets.UTF_8);
        return new Summary(captions.size(), outcomes.size() - captions.size(),
                (int) pictures.stream().filter(Optional::isPresent).count(), Files.size(out));
    }

    static String render(List<Outcome> all, List<Outcome> shown, List<Optional<String>> pictures, String source,
                         double perSecond, Instant generated) {
        List<Outcome> captions = all.stream().filter(o -> !o.isDeadLetter()).toList();
        List<Outcome> dead = all.stream().filter(Outcome::isDeadLetter).toList();
        String style = style();
        String script = script();
        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src '")
                .append(sha256(style)).append("'; script-src '").append(sha256(script)).append("'\">\n")
                .append("<title>Glimpse captions: ").append(captions.size()).append(" images</title>\n")
                .append("<style>").append(style).append("</style>\n</head>\n<body>\n");
        header(h, all, captions, dead, shown.size(), Double.isNaN(perSecond) ? throughput(all)
                : String.format(Locale.ROOT, "%.1f/s", perSecond));
        h.append("<main>\n<section id=\"captions\" aria-label=\"Captions\">\n<div class=\"grid\">\n");
        for (int i = 0; i < shown.size(); i++) {
            figure(h, shown.get(i), pictures.get(i));
        }
        h.append("</div>\n<p id=\"none\" class=\"empty\" hidden>No caption contains these words.</p>\n</section>\n");
        deadLetters(h, dead);
        h.append("</main>\n<footer>Made by <code>glimpse gallery</code> from ").append(Html.escape(source))
                .append(" on ").append(TIME.format(generated))
                .append(". Thumbnails are embedded: the page loads nothing from the network.</footer>\n")
                .append("<script>").append(script).append("</script>\n</body>\n</html>\n");
        return h.toString();
    }

    private static void header(StringBuilder h, List<Outcome> all, List<Outcome> captions, List<Outcome> dead, int shown,
                               String throughput) {
        String models = captions.stream().map(Outcome::model).filter(m -> m != null && !m.isBlank()).distinct()
                .collect(Collectors.joining(", "));
        long unsure = captions.stream().filter(o -> o.confidence() < UNSURE).count();
        h.append("<header>\n<div class=\"title\"><h1>Glimpse captions</h1>")
                .append("<p class=\"model\">").append(models.isEmpty() ? "model unknown" : "model " + Html.escape(models))
                .append("</p></div>\n<dl class=\"stats\">\n");
        stat(h, "images", String.valueOf(all.size()));
        stat(h, "captioned", String.valueOf(captions.size()));
        stat(h, "dead letters", String.valueOf(dead.size()));
        stat(h, "unsure", String.valueOf(unsure));
        stat(h, "throughput", throughput);
        h.append("</dl>\n<div class=\"tools\"><input id=\"filter\" type=\"search\" autocomplete=\"off\" ")
                .append("placeholder=\"Filter captions, e.g. red circle\" aria-label=\"Filter captions by words\">")
                .append("<span id=\"shown\" aria-live=\"polite\">").append(shown).append(" of ").append(shown)
                .append(" shown</span></div>\n");
        if (shown < captions.size()) {
            h.append("<p class=\"note\">Showing the first ").append(shown).append(" of ").append(captions.size())
                    .append(" captions.</p>\n");
        }
        h.append("</header>\n");
    }

    private static void stat(StringBuilder h, String name, String value) {
        h.append("<div><dt>").append(name).append("</dt><dd>").append(value).append("</dd></div>\n");
    }

    /**
     * Outcomes per second from the first record's Kafka timestamp to the last one's completion, if
     * known (a file's timestamp is its modification time: no measure of a run).
     */
    static String throughput(List<Outcome> all) {
        long first = all.stream().mapToLong(Outcome::timestampMs).filter(t -> t > 0).min().orElse(-1);
        long last = all.stream().filter(o -> o.timestampMs() > 0)
                .mapToLong(o -> o.timestampMs() + Math.max(0, o.totalMs())).max().orElse(-1);
        if (first < 0 || last <= first) {
            return "n/a";
        }
        double seconds = (last - first) / 1000.0;
        return String.format(Locale.ROOT, "%.1f/s <small>over %.1f s</small>", all.size() / seconds, seconds);
    }

    private static void figure(StringBuilder h, Outcome o, Optional<String> picture) {
        String caption = o.caption() == null ? "" : o.caption();
        h.append("<figure class=\"card\" data-search=\"").append(Html.escape((caption + " " + o.id()).toLowerCase(Locale.ROOT)))
                .append("\">");
        if (picture.isPresent()) {
            h.append("<img src=\"").append(picture.get()).append("\" alt=\"").append(Html.escape(caption)).append("\">");
        } else {
            h.append("<div class=\"noimage\">no image</div>");
        }
        h.append("<figcaption><p class=\"caption\">").append(Html.escape(caption)).append("</p><p class=\"meta\">")
                .append("<span class=\"id\" title=\"").append(Html.escape(o.id())).append("\">")
                .append(Html.escape(o.id())).append("</span>");
        if (!Double.isNaN(o.confidence())) {
            String level = o.confidence() >= UNSURE ? "sure" : o.confidence() >= DOUBTFUL ? "unsure" : "doubtful";
            h.append("<span class=\"chip ").append(level).append("\" title=\"lowest token probability\">")
                    .append(String.format(Locale.ROOT, "conf. %.1f %%", 100 * o.confidence())).append("</span>");
        }
        if (o.views() > 0) {
            h.append("<span class=\"chip views\" title=\"views the caption was decoded from\">").append(o.views())
                    .append(o.views() == 1 ? " view" : " views").append("</span>");
        }
        h.append("</p></figcaption></figure>\n");
    }

    private static void deadLetters(StringBuilder h, List<Outcome> dead) {
        h.append("<section id=\"dead-letters\" aria-label=\"Dead letters\">\n<h2>Dead letters <span class=\"count\">")
                .append(dead.size()).append("</span></h2>\n");
        if (dead.isEmpty()) {
            h.append("<p class=\"empty\">Every image was captioned.</p>\n</section>\n");
            return;
        }
        Map<String, Long> byCode = new TreeMap<>(dead.stream().collect(Collectors.groupingBy(Outcome::errorCode,
                Collectors.counting())));
        h.append("<p class=\"codes\">");
        byCode.forEach((code, n) -> h.append("<span class=\"chip code\">").append(Html.escape(code)).append(" × ")
                .append(n).append("</span>"));
        h.append("</p>\n<table>\n<thead><tr><th>id</th><th>code</th><th>stage</th><th>message</th></tr></thead>\n<tbody>\n");
        for (Outcome o : dead) {
            h.append("<tr><td class=\"id\">").append(Html.escape(o.id())).append("</td><td><span class=\"chip code\">")
                    .append(Html.escape(o.errorCode())).append("</span></td><td>").append(Html.escape(o.errorStage()))
                    .append("</td><td class=\"message\">").append(Html.escape(o.errorMessage())).append("</td></tr>\n");
        }
        h.append("</tbody>\n</table>\n</section>\n");
    }

    /** Compares runs of digits by their value and everything else as text. */
    static int naturalOrder(String a, String b) {
        Matcher x = CHUNK.matcher(a);
        Matcher y = CHUNK.matcher(b);
        while (x.find() && y.find()) {
            String p = x.group();
            String q = y.group();
            int c = Character.isDigit(p.charAt(0)) && Character.isDigit(q.charAt(0))
                    ? new BigInteger(p).compareTo(new BigInteger(q)) : p.compareTo(q);
            if (c != 0) {
                return c;
            }
        }
        return a.compareTo(b);
    }

    /** The CSP source of an inline block: its SHA-256, base64. */
    private static String sha256(String block) {
        try {
            return "sha256-" + Base64.getEncoder().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(block.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static String style() {
        return """
                :root{--bg:#f4f5f7;--card:#fff;--ink:#1d2330;--muted:#667085;--line:#e3e6eb;--accent:#3358d4}
                *{box-sizing:border-box}
                [hidden]{display:none!important}
                body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
                header{background:#161b26;color:#f5f7fa;padding:20px 28px 18px;display:flex;flex-wrap:wrap;gap:14px 40px;align-items:center}
                header .title{flex:1 1 260px}
                h1{margin:0;font-size:22px;font-weight:650;letter-spacing:.2px}
                .model{margin:2px 0 0;color:#aab4c5;font-size:13px}
                .stats{display:flex;gap:26px;margin:0}
                .stats div{min-width:64px}
                .stats dt{color:#aab4c5;font-size:11px;text-transform:uppercase;letter-spacing:.6px}
                .stats dd{margin:0;font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
                .stats small{font-size:12px;color:#aab4c5;font-weight:400}
                .tools{flex-basis:100%;display:flex;gap:14px;align-items:center}
                #filter{flex:0 1 420px;padding:9px 12px;border-radius:8px;border:1px solid #3a4356;background:#0f131b;color:#f5f7fa;font-size:15px}
                #filter:focus{outline:2px solid var(--accent);border-color:transparent}
                #shown{color:#aab4c5;font-size:13px}
                .note{flex-basis:100%;margin:0;color:#f0c36d;font-size:13px}
                main{padding:22px 28px 10px}
                .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:16px}
                .card{margin:0;background:var(--card);border-radius:10px;overflow:hidden;box-shadow:0 1px 2px rgba(16,24,40,.08),0 1px 3px rgba(16,24,40,.06);display:flex;flex-direction:column}
                .card img,.noimage{display:block;width:100%;aspect-ratio:1/1;object-fit:contain;background:#e9ecf1}
                .noimage{display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:13px}
                figcaption{padding:10px 12px 12px;display:flex;flex-direction:column;gap:8px;flex:1}
                .caption{margin:0;font-size:14px;overflow-wrap:anywhere}
                .meta{margin:auto 0 0;display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:12px;color:var(--muted)}
                .meta .id{font-family:ui-monospace,Menlo,Consolas,monospace;flex:1 1 100%;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
                .chip{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;background:#eef1f5;color:#344054;white-space:nowrap}
                .chip.sure{background:#e3f6ea;color:#14713d}
                .chip.unsure{background:#fdf1dc;color:#935f08}
                .chip.doubtful{background:#fde5e4;color:#b32318}
                .chip.code{background:#fde5e4;color:#b32318;font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:500}
                h2{font-size:17px;margin:34px 0 10px}
                h2 .count{color:var(--muted);font-weight:500}
                .codes{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 10px}
                table{width:100%;border-collapse:collapse;background:var(--card);border-radius:10px;overflow:hidden;box-shadow:0 1px 2px rgba(16,24,40,.08)}
                th,td{text-align:left;padding:8px 12px;border-bottom:1px solid var(--line);vertical-align:top;font-size:13px}
                th{background:#f8f9fb;color:var(--muted);font-weight:600}
                td.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
                td.message{overflow-wrap:anywhere}
                .empty{color:var(--muted)}
                footer{padding:18px 28px 26px;color:var(--muted);font-size:12px}
                """;
    }

    /** Narrows the grid (and the dead letters) to the entries whose words start with every word typed. */
    private static String script() {
        return """
                (function () {
                  var input = document.getElementById('filter');
                  var shown = document.getElementById('shown');
                  var none = document.getElementById('none');
                  var figures = Array.prototype.slice.call(document.querySelectorAll('#captions figure'));
                  var rows = Array.prototype.slice.call(document.querySelectorAll('#dead-letters tbody tr'));
                  function words(text) {
                    return text.toLowerCase().split(/[^\\p{L}\\p{N}_-]+/u).filter(function (w) { return w.length > 0; });
                  }
                  function matches(text, query) {
                    var have = words(text);
                    return query.every(function (q) {
                      return have.some(function (w) { return w.indexOf(q) === 0; });
                    });
                  }
                  function apply() {
                    var query = words(input.value);
                    var n = 0;
                    figures.forEach(function (f) {
                      var ok = matches(f.getAttribute('data-search'), query);
                      f.hidden = !ok;
                      if (ok) { n++; }
                    });
                    rows.forEach(function (r) { r.hidden = !matches(r.textContent, query); });
                    shown.textContent = n + ' of ' + figures.length + ' shown';
                    none.hidden = n > 0 || figures.length === 0;
                  }
                  input.addEventListener('input', apply);
                  apply();
                })();
                """;
    }
}
