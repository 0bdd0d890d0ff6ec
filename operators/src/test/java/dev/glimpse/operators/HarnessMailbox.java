package dev.glimpse.operators;

import java.util.Optional;
import org.apache.flink.streaming.runtime.tasks.mailbox.Mail;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;

/**
 * Runs the mails an operator put into a test harness's mailbox, as a task's mailbox loop does
 * between input records (the continuous captioner decodes one step per mail).
 */
final class HarnessMailbox {
    private HarnessMailbox() {}

    /** Runs mails until none is left; returns how many ran. */
    static int runAll(AbstractStreamOperatorTestHarness<?> h) throws Exception {
        int ran = 0;
        while (runOne(h)) {
            ran++;
        }
        return ran;
    }

    /** Runs the next mail, if there is one. */
    static boolean runOne(AbstractStreamOperatorTestHarness<?> h) throws Exception {
        Optional<Mail> mail = h.getTaskMailbox().tryTake(TaskMailbox.MIN_PRIORITY);
        if (mail.isEmpty()) {
            return false;
        }
        mail.get().run();
        return true;
    }
}
