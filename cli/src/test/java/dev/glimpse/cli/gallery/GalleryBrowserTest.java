package dev.glimpse.cli.gallery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The gallery page in a real headless browser (Debian's chromium and chromium-driver, driven by
 * Selenium without any download): figures, a known caption, markup shown as text and never run,
 * the filter narrowing the grid, and a screenshot (target/gallery-test.png).
 */
class GalleryBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir
    Path work;
    ChromeDriver browser;

    @BeforeEach
    void startBrowser() {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        String missing = "no " + CHROMIUM + " and " + CHROMEDRIVER + " (apt-get install chromium chromium-driver; .ci/run does)";
        // CI installs the browser and sets this: there the test must run, never skip.
        assertThat(present || System.getenv("GLIMPSE_REQUIRE_BROWSER") == null).as(missing).isTrue();
        assumeTrue(present, "SKIPPED: " + missing);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // Root in a container: no sandbox; no GPU; nothing fetched in the background.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--disable-background-networking", "--no-first-run",
                "--user-data-dir=" + work.resolve("chromium-profile"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterEach
    void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Test
    void shouldShowTheCaptionsAndNarrowTheGridToTheWordsTyped() throws Exception {
        GalleryFixture f = GalleryFixture.write(work, 12);
        Path page = work.resolve("page.html");
        GalleryPage.write(GallerySource.readJsonLines(f.jsonl), f.images, "jsonl:outcomes.jsonl", 100, page);
        browser.get(page.toUri().toString());

        List<WebElement> figures = browser.findElements(By.cssSelector("#captions figure"));
        assertThat(figures).hasSize(f.captions.size());
        WebElement first = figures.stream().filter(fig -> fig.findElement(By.className("id")).getText().equals("scene-0"))
                .findFirst().orElseThrow();
        assertThat(first.isDisplayed()).isTrue();
        assertThat(first.findElement(By.className("caption")).getText()).isEqualTo(f.captions.get(0));
        assertThat(browser.findElements(By.cssSelector("#captions img"))).hasSize(12)
                .allSatisfy(img -> assertThat((Long) browser.executeScript(
                        "return arguments[0].naturalWidth", img)).as("thumbnail decoded").isPositive());
        // Markup in captions, ids and messages is shown as text and never run.
        assertThat(browser.getTitle()).isEqualTo("Glimpse captions: 13 images");
        assertThat(browser.findElement(By.id("captions")).getText()).contains(GalleryFixture.HOSTILE_CAPTION)
                .contains(GalleryFixture.HOSTILE_ID);
        assertThat(browser.findElement(By.id("dead-letters")).getText()).contains(GalleryFixture.HOSTILE_MESSAGE);
        assertThat(browser.findElements(By.cssSelector("img[src='x'], b, #captions script"))).isEmpty();
        assertThat(browser.findElements(By.cssSelector("#dead-letters tbody tr"))).hasSize(f.deadLetters);
        assertThat(browser.findElement(By.id("shown")).getText()).isEqualTo("13 of 13 shown");

        String word = "triangle";
        long expected = f.captions.stream().filter(c -> c.contains(word)).count();
        assertThat(expected).as("the fixture has some captions with and some without the word")
                .isBetween(1L, (long) f.captions.size() - 1);
        WebElement filter = browser.findElement(By.id("filter"));
        filter.sendKeys("tri");
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(b -> visible(b.findElements(By.cssSelector("#captions figure"))) == expected);
        for (WebElement fig : browser.findElements(By.cssSelector("#captions figure"))) {
            if (fig.isDisplayed()) {
                assertThat(fig.findElement(By.className("caption")).getText()).contains(word);
            }
        }
        assertThat(browser.findElement(By.id("shown")).getText()).isEqualTo(expected + " of 13 shown");

        filter.sendKeys(" zebra");
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(b -> b.findElement(By.id("none")).isDisplayed());
        assertThat(visible(browser.findElements(By.cssSelector("#captions figure")))).isZero();

        filter.clear();
        filter.sendKeys(" ");
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(b -> visible(b.findElements(By.cssSelector("#captions figure"))) == 13);

        byte[] png = browser.getScreenshotAs(OutputType.BYTES);
        Path shot = Path.of("target", "gallery-test.png");
        Files.createDirectories(shot.getParent());
        Files.write(shot, png);
        assertThat(png).hasSizeGreaterThan(10_000);
        assertThat(new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
    }

    private static long visible(List<WebElement> elements) {
        return elements.stream().filter(WebElement::isDisplayed).count();
    }
}
