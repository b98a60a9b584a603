// Post or update the socket-triage plan comment on a pull request.
//
// Run by the Action's actions/github-script step as
//   await require(SCRIPT)({ github, context, core, bodyFile, author })
// and by tests/action_comment_test.py under node with a mocked `github`.
//
// The body comes whole from `socket-triage comment`, which already fitted it to GitHub's limit,
// closed its tags and put the marker on its first line. This script never cuts it. It finds the
// comment to update by that exact first line (one marker per org and path set) AND by author:
// only a comment written by this token's own identity is ever edited, never a human's comment
// that happens to start with the marker.
'use strict';

const fs = require('fs');

const LIMIT = 65536; // GitHub refuses a longer comment body
const MARKER = /^<!-- socket-triage-plan( [0-9a-f]{16})? -->$/;
const ACTIONS_BOT = 'github-actions[bot]';

// The login the token posts as: a personal token's user, else the Actions bot (an installation
// token such as GITHUB_TOKEN may not read /user).
async function identity(github, author) {
  if (author) return author;
  try {
    const { data } = await github.rest.users.getAuthenticated();
    return data.login;
  } catch (err) {
    return ACTIONS_BOT;
  }
}

function firstLine(text) {
  return (text || '').split('\n', 1)[0].replace(/\r$/, '');
}

module.exports = async function postComment({ github, context, core, bodyFile, author }) {
  const body = fs.readFileSync(bodyFile, 'utf8');
  const marker = firstLine(body);
  if (!MARKER.test(marker)) {
    core.setFailed(`${bodyFile} does not start with a socket-triage marker; not posted.`);
    return 'refused';
  }
  if (body.length > LIMIT) {
    core.setFailed(`The comment is ${body.length} characters, over GitHub's ${LIMIT}; not posted.`);
    return 'refused';
  }
  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  try {
    const me = await identity(github, author);
    const comments = await github.paginate(github.rest.issues.listComments, {
      owner,
      repo,
      issue_number,
      per_page: 100,
    });
    const mine = comments.find(
      (c) => c.user && c.user.login === me && firstLine(c.body) === marker,
    );
    if (mine) {
      await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
      core.info(`Updated comment ${mine.id}.`);
      return 'updated';
    }
    await github.rest.issues.createComment({ owner, repo, issue_number, body });
    core.info('Created the plan comment.');
    return 'created';
  } catch (err) {
    // A pull request from a fork gets a read-only token: the job summary still has the plan.
    core.warning(`Could not post the plan comment: ${err.message}`);
    return 'failed';
  }
};
